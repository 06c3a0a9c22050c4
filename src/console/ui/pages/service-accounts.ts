import { api, type RoleBinding, type ServiceAccount } from "../api.js";
import type { Page } from "../context.js";
import { append, h, replace } from "../dom.js";
import { formatDate, plural } from "../format.js";
import {
  deleteButton,
  errorLine,
  guard,
  nameInput,
  onSubmit,
  pageHead,
  readOnlyNote,
  table,
} from "../widgets.js";

interface Listing {
  serviceAccounts: ServiceAccount[];
  quota: number;
}

/** Service accounts: list with token counts and the quota, create, delete (with what goes with it). */
export const serviceAccountsPage: Page = async (context, root) => {
  const error = errorLine();
  const canCreate = context.can("serviceaccount.create");
  const canDelete = context.can("serviceaccount.delete");
  const name = nameInput("sa-name", "e.g. k8s-agents");
  const create = h("button", { type: "submit", class: "primary" }, "Create service account");
  guard(canCreate, "serviceaccount.create", name, create);
  const form = h("form", { class: "card create" }, h("label", { for: "sa-name" }, "Name"), name, create);
  const listing = h("div", { class: "card" });
  const head = h("div");
  replace(
    root,
    head,
    form,
    readOnlyNote(canCreate, "create or delete service accounts", "serviceaccount.create"),
    error.element,
    listing,
  );

  const load = async () => {
    const [accounts, bindings] = await Promise.all([
      api<Listing>("GET", "service-accounts"),
      context.can("rolebinding.list")
        ? api<{ roleBindings: RoleBinding[] }>("GET", "role-bindings").then((r) => r.roleBindings)
        : Promise.resolve(undefined),
    ]);
    replace(
      head,
      pageHead(
        "Service accounts",
        "Machine identities for agents and tools: each holds tokens, and role bindings grant it roles.",
        `${accounts.serviceAccounts.length} / ${accounts.quota} service accounts`,
      ),
    );
    const rows = accounts.serviceAccounts.map((account) => {
      const bound = bindings?.filter((b) => b.serviceAccountId === account.id).length;
      const remove = deleteButton(
        canDelete,
        "serviceaccount.delete",
        error,
        () => {
          const goes =
            bound === undefined
              ? "its tokens and role bindings"
              : `its ${plural(account.tokenCount, "token")} and ${plural(bound, "role binding")}`;
          return [
            `Delete service account “${account.name}”?`,
            `This also deletes ${goes}. Agents using its tokens are refused from their next call. This cannot be undone.`,
            "Delete service account",
          ];
        },
        () => api("DELETE", `service-accounts/${encodeURIComponent(account.id)}`).then(load),
      );
      return h(
        "tr",
        { "data-id": account.id },
        h("td", {}, h("a", { href: `#/service-accounts/${account.id}` }, account.name)),
        h("td", {}, h("code", {}, account.id)),
        h("td", {}, formatDate(account.createdAt)),
        h("td", {}, `${account.tokenCount} / ${account.tokenQuota}`),
        h(
          "td",
          { class: "actions" },
          h("a", { class: "button secondary small", href: `#/service-accounts/${account.id}` }, "Tokens"),
          remove,
        ),
      );
    });
    replace(listing, table(["Name", "ID", "Created", "Tokens", ""], rows, "No service accounts yet."));
  };

  onSubmit(form, create, canCreate, error, async () => {
    await api("POST", "service-accounts", { name: name.value });
    name.value = "";
    await load();
  });
  await load().catch((e) => {
    append(head, pageHead("Service accounts", "Machine identities for agents and tools."));
    error.show(e);
  });
};
