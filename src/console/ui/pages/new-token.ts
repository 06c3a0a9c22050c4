import { agentSnippets } from "../agent-snippets.js";
import { api, type Project, type RoleBinding, type Token } from "../api.js";
import type { Context } from "../context.js";
import { h, replace } from "../dom.js";
import { canPush } from "../role-summary.js";
import { secretBox } from "../secret-box.js";

/**
 * The secret of a new token, shown once, with a copy button and the warning; then the agent's
 * set-up for a chosen project with this token filled in, and a warning when the account has no
 * role there that lets it push.
 */
export function newTokenPanel(
  context: Context,
  created: Token,
  accountName: string,
  projects: readonly Project[],
  bindings: readonly RoleBinding[] | undefined,
  dismiss: () => void,
): HTMLElement {
  const firstBound = projects.find((p) => bindings && canPush(bindings, p.id)) ?? projects[0];
  const project = h(
    "select",
    { id: "new-token-project" },
    ...projects.map((p) => h("option", { value: p.id }, p.name)),
  );
  if (firstBound) project.value = firstBound.id;
  const setup = h("div");
  const show = () => {
    const chosen = projects.find((p) => p.id === project.value);
    if (!chosen) return replace(setup, h("p", { class: "hint" }, "Create a project first."));
    const refused =
      bindings && !canPush(bindings, chosen.id)
        ? h(
            "p",
            { class: "warning-box", role: "note" },
            `“${accountName}” has no role that lets it push to “${chosen.name}”: its agents would be refused (PERMISSION_DENIED). `,
            h("a", { href: `#/connect/${chosen.id}` }, "Connect an agent"),
            " binds one for you, or bind writer on the Role bindings page.",
          )
        : null;
    replace(setup, refused, agentSnippets(context.endpoint, chosen.id, created.token));
  };
  project.addEventListener("change", show);
  show();
  return h(
    "section",
    { class: "card new-token", "aria-labelledby": "new-token-title" },
    h("h2", { id: "new-token-title", tabindex: -1 }, `Token “${created.name}” created`),
    h(
      "p",
      { class: "warning" },
      "Copy it now: it will not be shown again. Only its hash is stored, so it cannot be recovered.",
    ),
    secretBox(created.token),
    h("h3", { class: "setup-title" }, "Set up an agent with this token"),
    h("div", { class: "field" }, h("label", { for: "new-token-project" }, "Project"), project),
    setup,
    h("button", { type: "button", class: "secondary", onclick: dismiss }, "Done"),
  );
}

/** The projects and, when the caller may list them, the account's role bindings. */
export async function tokenSetupData(context: Context, serviceAccountId: string) {
  const [projects, bindings] = await Promise.all([
    api<{ projects: Project[] }>("GET", "projects").then((r) => r.projects),
    context.can("rolebinding.list")
      ? api<{ roleBindings: RoleBinding[] }>(
          "GET",
          `role-bindings?serviceAccountId=${encodeURIComponent(serviceAccountId)}`,
        ).then((r) => r.roleBindings)
      : Promise.resolve(undefined),
  ]);
  return { projects, bindings };
}
