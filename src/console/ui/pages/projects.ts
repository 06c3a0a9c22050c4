import { agentCommand, kubernetesManifest } from "../agent-setup.js";
import { api, type Project, type RoleBinding } from "../api.js";
import type { Context, Page } from "../context.js";
import { h, replace } from "../dom.js";
import { formatDate, plural } from "../format.js";
import {
  copyButton,
  deleteButton,
  errorLine,
  guard,
  nameInput,
  onSubmit,
  pageHead,
  readOnlyNote,
  table,
} from "../widgets.js";

function snippet(id: string, title: string, text: string): HTMLElement {
  return h(
    "div",
    { class: "snippet" },
    h(
      "div",
      { class: "snippet-head" },
      h("h3", {}, title),
      copyButton(() => text),
    ),
    h("pre", { id }, h("code", {}, text)),
  );
}

/** The ready-to-paste set-up of parca-agent for one project. */
function setupPanel(context: Context, project: Project): HTMLElement {
  return h(
    "section",
    { class: "card setup", id: "agent-setup" },
    h("h2", {}, `Set up parca-agent for “${project.name}”`),
    h(
      "ol",
      { class: "steps" },
      h(
        "li",
        {},
        "Bind a service account ",
        h("a", { href: "#/role-bindings" }, "writer on this project"),
        " (profile-writer when agents run with --debuginfo-upload-disable), then ",
        h("a", { href: "#/service-accounts" }, "create a token"),
        " for it and save the token in a file.",
      ),
      h("li", {}, "Run the agent with that file, or deploy it to Kubernetes with the token in a Secret."),
    ),
    snippet("agent-command", "Command line", agentCommand(context.endpoint, project.id)),
    snippet(
      "agent-manifest",
      "Kubernetes Secret + DaemonSet",
      kubernetesManifest(context.endpoint, project.id),
    ),
  );
}

/** Projects: list with copyable ids, create, delete, and the agent set-up of a chosen project. */
export const projectsPage: Page = async (context, root, chosenId) => {
  const error = errorLine();
  const canCreate = context.can("project.create");
  const canDelete = context.can("project.delete");
  const name = nameInput("project-name", "e.g. production");
  const create = h("button", { type: "submit", class: "primary" }, "Create project");
  guard(canCreate, "project.create", name, create);
  const form = h("form", { class: "card create" }, h("label", { for: "project-name" }, "Name"), name, create);
  const listing = h("div", { class: "card" });
  const setup = h("div");
  replace(
    root,
    pageHead(
      "Projects",
      "Agents name the project their profiles belong to with --remote-store-grpc-headers=projectID=<id>.",
    ),
    form,
    readOnlyNote(canCreate, "create or delete projects", "project.create"),
    error.element,
    listing,
    setup,
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
        canDelete,
        "project.delete",
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
        () => api("DELETE", `projects/${encodeURIComponent(project.id)}`).then(load),
      );
      const chosen = project.id === chosenId;
      return h(
        "tr",
        { "data-id": project.id, class: chosen ? "chosen" : "" },
        h("td", {}, project.name),
        h(
          "td",
          { class: "id-cell" },
          h("code", {}, project.id),
          copyButton(() => project.id, "Copy ID", undefined, "small"),
        ),
        h("td", {}, formatDate(project.createdAt)),
        h(
          "td",
          { class: "actions" },
          h("a", { class: "button secondary small", href: `#/projects/${project.id}` }, "Agent set-up"),
          remove,
        ),
      );
    });
    replace(listing, table(["Name", "ID", "Created", ""], rows, "No projects yet."));
    const chosen = projects.find((p) => p.id === chosenId);
    replace(setup, chosen ? setupPanel(context, chosen) : null);
  };

  onSubmit(form, create, canCreate, error, async () => {
    await api("POST", "projects", { name: name.value });
    name.value = "";
    await load();
  });
  await load().catch(error.show);
  if (chosenId) document.getElementById("agent-setup")?.scrollIntoView();
};
