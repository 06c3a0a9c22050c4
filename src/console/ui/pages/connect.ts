import { agentSnippets } from "../agent-snippets.js";
import { api, type Project, type ServiceAccount } from "../api.js";
import type { Context, Page } from "../context.js";
import { append, h, replace } from "../dom.js";
import { expiryField } from "../expiry-field.js";
import { isAlreadyExists, loadOrRetry, messageOf, toast } from "../feedback.js";
import { nameField } from "../name-field.js";
import { errorLine, guard, pageHead } from "../widgets.js";
import { connectResult } from "./connect-result.js";
import { connectAgent } from "./connect-steps.js";

const NEW = "new";
const NOTE = "connect-read-only";
const NEEDED = ["serviceaccount.create", "rolebinding.create", "serviceaccounttoken.create"];

function roleChoice(context: Context, role: string, checked: boolean): HTMLElement {
  const id = `connect-role-${role}`;
  const description = context.roles.find((r) => r.role === role)?.description ?? "";
  return h(
    "div",
    { class: "choice" },
    h("input", { type: "radio", name: "connect-role", id, value: role, checked }),
    h("label", { for: id }, h("strong", {}, role), h("span", { class: "muted" }, ` — ${description}`)),
  );
}

/**
 * Connect an agent: one form from a project to a running agent. Choose or create the service
 * account, bind writer or profile-writer on the project, create a token (90 days unless chosen
 * otherwise), then the command line and the Kubernetes manifests with the token filled in.
 */
export const connectPage: Page = async (context, root, projectId) => {
  const error = errorLine();
  const allowed = NEEDED.every((p) => context.can(p));
  const card = h("div");
  replace(
    root,
    pageHead(
      "Connect an agent",
      "Everything parca-agent needs to push to a project: a service account with a role there, a token, and the set-up with both filled in.",
    ),
    allowed
      ? null
      : h("p", { class: "note", id: NOTE }, `Read-only: connecting an agent needs ${NEEDED.join(", ")}.`),
    card,
  );
  await loadOrRetry(card, "the projects and service accounts", async () => {
    const [projects, accounts] = await Promise.all([
      api<{ projects: Project[] }>("GET", "projects").then((r) => r.projects),
      api<{ serviceAccounts: ServiceAccount[] }>("GET", "service-accounts").then((r) => r.serviceAccounts),
    ]);
    const project = h(
      "select",
      { id: "connect-project" },
      h("option", { value: "", disabled: true }, "Choose a project…"),
      ...projects.map((p) => h("option", { value: p.id }, p.name)),
    );
    project.value = projects.some((p) => p.id === projectId) ? (projectId ?? "") : "";
    const account = h(
      "select",
      { id: "connect-account" },
      h("option", { value: NEW }, "A new service account"),
      ...accounts.map((a) => h("option", { value: a.id }, a.name)),
    );
    const accountName = nameField("connect-account-name", "New service account's name", "e.g. k8s-agents");
    account.addEventListener("change", () => {
      accountName.element.hidden = account.value !== NEW;
    });
    const tokenName = nameField("connect-token-name", "Token name", "e.g. cluster-a", "parca-agent");
    const expires = expiryField("connect-expiry");
    const submit = h("button", { type: "submit", class: "primary", id: "connect-submit" }, "Connect agent");
    const roles = h(
      "fieldset",
      { class: "roles-choice" },
      h("legend", {}, "Role on the project"),
      roleChoice(context, "writer", true),
      roleChoice(context, "profile-writer", false),
    );
    guard(
      allowed,
      NEEDED.join(", "),
      NOTE,
      project,
      account,
      accountName.input,
      ...roles.querySelectorAll("input"),
      tokenName.input,
      expires.select,
      submit,
    );
    const steps = h("ol", { class: "connect-steps", id: "connect-steps", "aria-live": "polite" });
    const outcome = h("div");
    const existing = h("div", { class: "existing-token" });
    const showExisting = () => {
      const chosen = projects.find((p) => p.id === project.value);
      replace(
        existing,
        chosen
          ? h(
              "details",
              {},
              h("summary", {}, "Already have a token? The set-up with a placeholder"),
              agentSnippets(context.endpoint, chosen.id),
            )
          : null,
      );
    };
    project.addEventListener("change", showExisting);
    showExisting();
    const form = h(
      "form",
      { class: "card connect", id: "connect-form" },
      h("div", { class: "field" }, h("label", { for: "connect-project" }, "1. Project"), project),
      h("div", { class: "field" }, h("label", { for: "connect-account" }, "2. Service account"), account),
      accountName.element,
      roles,
      h("p", { class: "step-title" }, "3. Token"),
      tokenName.element,
      expires.element,
      submit,
      error.element,
      steps,
    );
    form.noValidate = true;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.clear();
      replace(steps);
      submit.disabled = true;
      try {
        const chosen = projects.find((p) => p.id === project.value);
        if (!chosen) throw new Error("Choose the project the agent pushes to.");
        const newName = account.value === NEW ? accountName.value() : undefined;
        const role = (form.querySelector<HTMLInputElement>("input[name=connect-role]:checked")?.value ??
          "writer") as "writer" | "profile-writer";
        const done = await connectAgent(
          {
            projectId: chosen.id,
            projectName: chosen.name,
            account: newName !== undefined ? { newName } : { id: account.value },
            role,
            tokenName: tokenName.value(),
            expiresAt: expires.value(),
          },
          accounts,
          {
            account(a, created) {
              append(
                steps,
                h(
                  "li",
                  {},
                  created ? `Service account “${a.name}” created.` : `Service account “${a.name}” chosen.`,
                ),
              );
              if (created) {
                accounts.push(a);
                account.appendChild(h("option", { value: a.id }, a.name));
                account.value = a.id;
                accountName.reset();
                accountName.element.hidden = true;
              }
            },
            binding: (text) => append(steps, h("li", {}, text)),
          },
        ).catch((e: unknown) => {
          if (isAlreadyExists(e) && account.value === NEW)
            accountName.refuse("This name is taken: choose that account in the list above, or another name.");
          throw e;
        });
        append(steps, h("li", {}, `Token “${done.token.name}” created.`));
        replace(outcome, connectResult(context, chosen, done.account, done.token));
        toast(`Agent set-up ready for “${chosen.name}”. Copy the token now.`);
        document.getElementById("connect-result-title")?.focus();
      } catch (e) {
        error.show(new Error(messageOf(e)));
      } finally {
        submit.disabled = !allowed;
      }
    });
    replace(card, form, outcome, existing);
  });
};
