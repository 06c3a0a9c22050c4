import { api, type Project, type RoleBinding, type ServiceAccount } from "../api.js";
import type { Page } from "../context.js";
import { h, replace } from "../dom.js";
import { formatDate } from "../format.js";
import { deleteButton, errorLine, guard, onSubmit, pageHead, readOnlyNote, table } from "../widgets.js";

const ORGANIZATION_WIDE = "Organization-wide";

/** Role bindings: list (subject, role, scope), create (subject, role with its description, project), delete. */
export const roleBindingsPage: Page = async (context, root) => {
  const error = errorLine();
  const canCreate = context.can("rolebinding.create");
  const canDelete = context.can("rolebinding.delete");
  const subject = h("select", { id: "rb-subject", name: "serviceAccountId", required: true });
  const role = h(
    "select",
    { id: "rb-role", name: "role" },
    ...context.roles.map((r) => h("option", { value: r.role }, r.role)),
  );
  const description = h("p", { class: "role-description", id: "rb-role-description" });
  const describe = () =>
    replace(description, context.roles.find((r) => r.role === role.value)?.description ?? "");
  role.addEventListener("change", describe);
  role.value = "writer";
  describe();
  const project = h("select", { id: "rb-project", name: "projectId" });
  const create = h("button", { type: "submit", class: "primary" }, "Create role binding");
  guard(canCreate, "rolebinding.create", subject, role, project, create);
  const form = h(
    "form",
    { class: "card create binding" },
    h("label", { for: "rb-subject" }, "Service account"),
    subject,
    h("label", { for: "rb-role" }, "Role"),
    h("div", { class: "role-field" }, role, description),
    h("label", { for: "rb-project" }, "Project"),
    project,
    create,
  );
  const listing = h("div", { class: "card" });
  replace(
    root,
    pageHead(
      "Role bindings",
      "A binding grants a service account a role, in the whole organization or in one project.",
    ),
    form,
    readOnlyNote(canCreate, "create or delete role bindings", "rolebinding.create"),
    error.element,
    listing,
  );

  const load = async () => {
    const [bindings, accounts, projects] = await Promise.all([
      api<{ roleBindings: RoleBinding[] }>("GET", "role-bindings").then((r) => r.roleBindings),
      api<{ serviceAccounts: ServiceAccount[] }>("GET", "service-accounts").then((r) => r.serviceAccounts),
      api<{ projects: Project[] }>("GET", "projects").then((r) => r.projects),
    ]);
    const accountName = new Map(accounts.map((a) => [a.id, a.name]));
    const projectName = new Map(projects.map((p) => [p.id, p.name]));
    const chosenSubject = subject.value;
    const chosenProject = project.value;
    replace(subject, ...accounts.map((a) => h("option", { value: a.id }, a.name)));
    replace(
      project,
      h("option", { value: "" }, ORGANIZATION_WIDE),
      ...projects.map((p) => h("option", { value: p.id }, p.name)),
    );
    if (accountName.has(chosenSubject)) subject.value = chosenSubject;
    if (projectName.has(chosenProject)) project.value = chosenProject;

    const rows = bindings.map((binding) => {
      const who = accountName.get(binding.serviceAccountId) ?? binding.serviceAccountId;
      const scope = binding.projectId
        ? (projectName.get(binding.projectId) ?? binding.projectId)
        : ORGANIZATION_WIDE;
      const where = binding.projectId ? `in project “${scope}”` : "in the whole organization";
      const remove = deleteButton(
        canDelete,
        "rolebinding.delete",
        error,
        () => [
          `Delete the ${binding.role} binding of “${who}”?`,
          `“${who}” loses the role ${binding.role} ${where} from its next call.`,
          "Delete role binding",
        ],
        () => api("DELETE", `role-bindings/${encodeURIComponent(binding.id)}`).then(load),
      );
      return h(
        "tr",
        { "data-id": binding.id },
        h("td", {}, h("a", { href: `#/service-accounts/${binding.serviceAccountId}` }, who)),
        h("td", {}, h("span", { class: "role-chip" }, binding.role)),
        h("td", { class: binding.projectId ? "" : "muted" }, scope),
        h("td", {}, formatDate(binding.createdAt)),
        h("td", { class: "actions" }, remove),
      );
    });
    replace(
      listing,
      table(["Service account", "Role", "Scope", "Created", ""], rows, "No role bindings yet."),
    );
  };

  onSubmit(form, create, canCreate, error, async () => {
    await api("POST", "role-bindings", {
      serviceAccountId: subject.value,
      role: role.value,
      ...(project.value ? { projectId: project.value } : {}),
    });
    await load();
  });
  await load().catch(error.show);
};
