import { api, type Project, type RoleBinding, type ServiceAccount } from "../api.js";
import type { Page } from "../context.js";
import { h, replace } from "../dom.js";
import { highlightRow, isAlreadyExists, loadOrRetry, toast } from "../feedback.js";
import { formatDate } from "../format.js";
import {
  deleteButton,
  errorLine,
  guard,
  nameText,
  onSubmit,
  pageHead,
  readOnlyNote,
  refreshButton,
  table,
} from "../widgets.js";

const ORGANIZATION_WIDE = "Organization-wide";
/** The scope select's value for organization-wide: "" is "nothing chosen yet". */
const ORG = "organization";
const NOTE = "rb-read-only";

const placeholder = (text: string) => h("option", { value: "", disabled: true }, text);

/** Role bindings: list (subject, role, scope), create (subject, role with its description, scope), delete. */
export const roleBindingsPage: Page = async (context, root) => {
  const error = errorLine();
  const canCreate = context.can("rolebinding.create");
  const canDelete = context.can("rolebinding.delete");
  const subject = h("select", { id: "rb-subject", name: "serviceAccountId" });
  const role = h(
    "select",
    { id: "rb-role", name: "role" },
    placeholder("Choose a role…"),
    ...context.roles.map((r) => h("option", { value: r.role }, r.role)),
  );
  const description = h("p", { class: "role-description", id: "rb-role-description" });
  const describe = () =>
    replace(description, context.roles.find((r) => r.role === role.value)?.description ?? "");
  role.addEventListener("change", describe);
  const project = h("select", { id: "rb-project", name: "projectId" });
  const create = h("button", { type: "submit", class: "primary" }, "Create role binding");
  guard(canCreate, "rolebinding.create", NOTE, subject, role, project, create);
  const form = h(
    "form",
    { class: "card create binding" },
    h("label", { for: "rb-subject" }, "Service account"),
    subject,
    h("label", { for: "rb-role" }, "Role"),
    h("div", { class: "role-field" }, role, description),
    h("label", { for: "rb-project" }, "Scope"),
    project,
    create,
  );
  const reset = () => {
    subject.value = "";
    role.value = "";
    project.value = "";
    describe();
  };
  const listing = h("div", { class: "card" });
  let accountName = new Map<string, string>();
  let projectName = new Map<string, string>();
  replace(
    root,
    pageHead(
      "Role bindings",
      "A binding grants a service account a role, in the whole organization or in one project.",
      { tools: [refreshButton(() => void loadOrRetry(listing, "the role bindings", load))] },
    ),
    form,
    readOnlyNote(
      NOTE,
      canCreate && canDelete,
      "create or delete role bindings",
      "rolebinding.create and rolebinding.delete",
    ),
    error.element,
    listing,
  );

  const load = async () => {
    const [bindings, accounts, projects] = await Promise.all([
      api<{ roleBindings: RoleBinding[] }>("GET", "role-bindings").then((r) => r.roleBindings),
      api<{ serviceAccounts: ServiceAccount[] }>("GET", "service-accounts").then((r) => r.serviceAccounts),
      api<{ projects: Project[] }>("GET", "projects").then((r) => r.projects),
    ]);
    accountName = new Map(accounts.map((a) => [a.id, a.name]));
    projectName = new Map(projects.map((p) => [p.id, p.name]));
    const chosenSubject = subject.value;
    const chosenProject = project.value;
    replace(
      subject,
      placeholder("Choose a service account…"),
      ...accounts.map((a) => h("option", { value: a.id }, a.name)),
    );
    replace(
      project,
      placeholder("Choose a scope…"),
      h("option", { value: ORG }, `${ORGANIZATION_WIDE} (every project)`),
      ...projects.map((p) => h("option", { value: p.id }, `Project ${p.name}`)),
    );
    subject.value = accountName.has(chosenSubject) ? chosenSubject : "";
    project.value = projectName.has(chosenProject) || chosenProject === ORG ? chosenProject : "";

    const rows = bindings.map((binding) => {
      const who = accountName.get(binding.serviceAccountId) ?? binding.serviceAccountId;
      const scope = binding.projectId
        ? (projectName.get(binding.projectId) ?? binding.projectId)
        : ORGANIZATION_WIDE;
      const where = binding.projectId ? `in project “${scope}”` : "in the whole organization";
      const remove = deleteButton(
        {
          allowed: canDelete,
          permission: "rolebinding.delete",
          noteId: NOTE,
          name: `Delete role binding ${binding.role} of ${who} ${binding.projectId ? `on ${scope}` : "organization-wide"}`,
        },
        error,
        () => [
          `Delete the ${binding.role} binding of “${who}”?`,
          `“${who}” loses the role ${binding.role} ${where} from its next call.`,
          "Delete role binding",
        ],
        async () => {
          await api("DELETE", `role-bindings/${encodeURIComponent(binding.id)}`);
          toast(`Role binding deleted: “${who}” no longer has ${binding.role} ${where}.`);
          await load();
        },
      );
      return h(
        "tr",
        { "data-id": binding.id },
        h(
          "td",
          { class: "name-cell" },
          h("a", { href: `#/service-accounts/${binding.serviceAccountId}` }, nameText(who)),
        ),
        h("td", {}, h("span", { class: "role-chip" }, binding.role)),
        h("td", { class: `name-cell ${binding.projectId ? "" : "muted"}` }, nameText(scope)),
        h("td", {}, formatDate(binding.createdAt)),
        h("td", { class: "actions" }, remove),
      );
    });
    replace(
      listing,
      table(["Service account", "Role", "Scope", "Created", "Actions"], rows, "No role bindings yet."),
    );
  };

  onSubmit(form, create, canCreate, error, async () => {
    const missing = [
      subject.value ? "" : "a service account",
      role.value ? "" : "a role",
      project.value ? "" : "a scope",
    ].filter(Boolean);
    if (missing.length > 0) throw new Error(`Choose ${missing.join(", ")} first.`);
    const who = accountName.get(subject.value) ?? subject.value;
    const where =
      project.value === ORG
        ? "organization-wide"
        : `on project “${projectName.get(project.value) ?? project.value}”`;
    const answer = await api<{ roleBinding: RoleBinding }>("POST", "role-bindings", {
      serviceAccountId: subject.value,
      role: role.value,
      ...(project.value !== ORG ? { projectId: project.value } : {}),
    }).catch((e: unknown) => {
      if (isAlreadyExists(e))
        throw new Error(`“${who}” already has role ${role.value} ${where}: there is nothing to add.`);
      throw e;
    });
    toast(`“${who}” now has role ${role.value} ${where}.`);
    reset();
    await loadOrRetry(listing, "the role bindings", load);
    highlightRow(listing, answer.roleBinding.id);
  });
  await loadOrRetry(listing, "the role bindings", load);
  reset();
};
