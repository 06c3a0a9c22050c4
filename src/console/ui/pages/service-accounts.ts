import { api, type Project, type RoleBinding, type ServiceAccount } from "../api.js";
import type { Page } from "../context.js";
import { h, replace } from "../dom.js";
import { highlightRow, isAlreadyExists, loadOrRetry, toast } from "../feedback.js";
import { formatDate, plural } from "../format.js";
import { nameField } from "../name-field.js";
import { roleChips } from "../role-summary.js";
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

interface Listing {
  serviceAccounts: ServiceAccount[];
  quota: number;
}

const NOTE = "sa-read-only";

/** Service accounts: list with roles, token counts and the quota, create, delete (with what goes with it). */
export const serviceAccountsPage: Page = async (context, root) => {
  const error = errorLine();
  const canCreate = context.can("serviceaccount.create");
  const canDelete = context.can("serviceaccount.delete");
  const name = nameField("sa-name", "Name", "e.g. k8s-agents");
  const create = h("button", { type: "submit", class: "primary" }, "Create service account");
  guard(canCreate, "serviceaccount.create", NOTE, name.input, create);
  const form = h("form", { class: "card create" }, name.element, create);
  const listing = h("div", { class: "card" });
  const quota = h("span", { class: "quota" });
  replace(
    root,
    pageHead(
      "Service accounts",
      "Machine identities for agents and tools: each holds tokens, and role bindings grant it roles.",
      {
        quota,
        tools: [
          h("a", { class: "button primary small", href: "#/connect" }, "Connect an agent"),
          refreshButton(() => void loadOrRetry(listing, "the service accounts", load)),
        ],
      },
    ),
    form,
    readOnlyNote(
      NOTE,
      canCreate && canDelete,
      "create or delete service accounts",
      "serviceaccount.create and serviceaccount.delete",
    ),
    error.element,
    listing,
  );

  const load = async () => {
    const [accounts, bindings, projects] = await Promise.all([
      api<Listing>("GET", "service-accounts"),
      context.can("rolebinding.list")
        ? api<{ roleBindings: RoleBinding[] }>("GET", "role-bindings").then((r) => r.roleBindings)
        : Promise.resolve(undefined),
      api<{ projects: Project[] }>("GET", "projects").then((r) => r.projects),
    ]);
    const projectName = new Map(projects.map((p) => [p.id, p.name]));
    const named = (id: string) => projectName.get(id) ?? id;
    replace(quota, `${accounts.serviceAccounts.length} / ${accounts.quota} service accounts`);
    const rows = accounts.serviceAccounts.map((account) => {
      const own = bindings?.filter((b) => b.serviceAccountId === account.id);
      const remove = deleteButton(
        {
          allowed: canDelete,
          permission: "serviceaccount.delete",
          noteId: NOTE,
          name: `Delete service account ${account.name}`,
        },
        error,
        () => {
          const goes =
            own === undefined
              ? "its tokens and role bindings"
              : `its ${plural(account.tokenCount, "token")} and ${plural(own.length, "role binding")}`;
          return [
            `Delete service account “${account.name}”?`,
            `This also deletes ${goes}. Agents using its tokens are refused from their next call. This cannot be undone.`,
            "Delete service account",
          ];
        },
        async () => {
          await api("DELETE", `service-accounts/${encodeURIComponent(account.id)}`);
          toast(`Service account “${account.name}” deleted.`);
          await load();
        },
      );
      const tokens = `#/service-accounts/${account.id}`;
      return h(
        "tr",
        { "data-id": account.id },
        h(
          "td",
          { class: "name-cell" },
          h("a", { href: tokens }, nameText(account.name)),
          h("code", { class: "sub-id" }, account.id),
        ),
        h(
          "td",
          { class: "roles" },
          own ? roleChips(own, named) : h("span", { class: "muted" }, "not visible"),
        ),
        h("td", {}, formatDate(account.createdAt)),
        h("td", {}, `${account.tokenCount} / ${account.tokenQuota}`),
        h(
          "td",
          { class: "actions" },
          h(
            "a",
            { class: "button secondary small", href: tokens, "aria-label": `Tokens of ${account.name}` },
            "Tokens",
          ),
          remove,
        ),
      );
    });
    replace(
      listing,
      table(["Name and ID", "Roles", "Created", "Tokens", "Actions"], rows, "No service accounts yet."),
    );
  };

  onSubmit(form, create, canCreate, error, async () => {
    const { serviceAccount } = await api<{ serviceAccount: ServiceAccount }>("POST", "service-accounts", {
      name: name.value(),
    }).catch((e: unknown) => {
      if (isAlreadyExists(e)) name.refuse("This name is taken: service account names are unique.");
      throw e;
    });
    name.reset();
    toast(`Service account “${serviceAccount.name}” created. Give it a role, then a token.`);
    await loadOrRetry(listing, "the service accounts", load);
    highlightRow(listing, serviceAccount.id);
  });
  await loadOrRetry(listing, "the service accounts", load);
};
