import { api, type Project, type RoleBinding } from "../api.js";
import type { Page } from "../context.js";
import { copyButton } from "../copy-button.js";
import { h, replace } from "../dom.js";
import { highlightRow, isAlreadyExists, loadOrRetry, toast } from "../feedback.js";
import { formatDate, plural } from "../format.js";
import { nameField } from "../name-field.js";
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

const NOTE = "projects-read-only";

/** Projects: list with copyable ids, create, delete, and the way to connect an agent to one. */
export const projectsPage: Page = async (context, root) => {
  const error = errorLine();
  const canCreate = context.can("project.create");
  const canDelete = context.can("project.delete");
  const name = nameField("project-name", "Name", "e.g. production");
  const create = h("button", { type: "submit", class: "primary" }, "Create project");
  guard(canCreate, "project.create", NOTE, name.input, create);
  const form = h("form", { class: "card create" }, name.element, create);
  const listing = h("div", { class: "card" });
  replace(
    root,
    pageHead(
      "Projects",
      "Agents name the project their profiles belong to with --remote-store-grpc-headers=projectID=<id>.",
      { tools: [refreshButton(() => void loadOrRetry(listing, "the projects", load))] },
    ),
    form,
    readOnlyNote(
      NOTE,
      canCreate && canDelete,
      "create or delete projects",
      "project.create and project.delete",
    ),
    error.element,
    listing,
  );

  const load = async () => {
    const [{ projects }, bindings] = await Promise.all([
      api<{ projects: Project[] }>("GET", "projects"),
      context.can("rolebinding.list")
        ? api<{ roleBindings: RoleBinding[] }>("GET", "role-bindings").then((r) => r.roleBindings)
        : Promise.resolve(undefined),
    ]);
    const rows = projects.map((project) => {
      const remove = deleteButton(
        {
          allowed: canDelete,
          permission: "project.delete",
          noteId: NOTE,
          name: `Delete project ${project.name}`,
        },
        error,
        () => {
          const scoped = bindings?.filter((b) => b.projectId === project.id).length;
          const goes =
            scoped === undefined
              ? "the role bindings scoped to it"
              : plural(scoped, "role binding scoped to it", "role bindings scoped to it");
          return [
            `Delete project “${project.name}”?`,
            `This also deletes ${goes}. Agents pushing to it are refused from their next call. This cannot be undone.`,
            "Delete project",
          ];
        },
        async () => {
          await api("DELETE", `projects/${encodeURIComponent(project.id)}`);
          toast(`Project “${project.name}” deleted.`);
          await load();
        },
      );
      return h(
        "tr",
        { "data-id": project.id },
        h("td", { class: "name-cell" }, nameText(project.name)),
        h(
          "td",
          { class: "id-cell" },
          h("code", {}, project.id),
          copyButton(() => project.id, "Copy ID", {
            size: "small",
            name: `Copy ID of project ${project.name}`,
          }),
        ),
        h("td", {}, formatDate(project.createdAt)),
        h(
          "td",
          { class: "actions" },
          h(
            "a",
            {
              class: "button secondary small",
              href: `#/connect/${project.id}`,
              "aria-label": `Connect an agent to project ${project.name}`,
            },
            "Connect an agent",
          ),
          remove,
        ),
      );
    });
    replace(listing, table(["Name", "ID", "Created", "Actions"], rows, "No projects yet."));
  };

  onSubmit(form, create, canCreate, error, async () => {
    const { project } = await api<{ project: Project }>("POST", "projects", { name: name.value() }).catch(
      (e: unknown) => {
        if (isAlreadyExists(e)) name.refuse("This name is taken: project names are unique.");
        throw e;
      },
    );
    name.reset();
    toast(`Project “${project.name}” created.`);
    await loadOrRetry(listing, "the projects", load);
    highlightRow(listing, project.id);
  });
  await loadOrRetry(listing, "the projects", load);
};
