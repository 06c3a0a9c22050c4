import { ApiError, api, type ServiceAccount, type Token } from "../api.js";
import type { Page } from "../context.js";
import { h, replace } from "../dom.js";
import { expiryField } from "../expiry-field.js";
import { highlightRow, loadOrRetry, toast } from "../feedback.js";
import { formatDate } from "../format.js";
import { nameField } from "../name-field.js";
import { roleChips } from "../role-summary.js";
import { expiry, lastUsed } from "../token-cells.js";
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
import { newTokenPanel, tokenSetupData } from "./new-token.js";

const NOTE = "tokens-read-only";

/** What a tokens page shows for an account id that does not exist: no form, a way back. */
function notFound(root: HTMLElement, serviceAccountId: string): void {
  replace(
    root,
    pageHead("Service account not found", "There is no service account with this id in your organization."),
    h(
      "div",
      { class: "card not-found" },
      h("p", {}, "It may have been deleted. Id: ", h("code", {}, serviceAccountId)),
      h("a", { class: "button secondary", href: "#/service-accounts" }, "Back to the service accounts"),
    ),
  );
}

/** The tokens of one service account: its roles, list, create (secret shown once), delete, quota. */
export const tokensPage: Page = async (context, root, serviceAccountId = "") => {
  const error = errorLine();
  const canCreate = context.can("serviceaccounttoken.create");
  const canDelete = context.can("serviceaccounttoken.delete");
  const path = `service-accounts/${encodeURIComponent(serviceAccountId)}/tokens`;
  let account: ServiceAccount | undefined;
  let first: { tokens: Token[]; quota: number };
  try {
    const [accounts, listed] = await Promise.all([
      context.can("serviceaccount.list")
        ? api<{ serviceAccounts: ServiceAccount[] }>("GET", "service-accounts").then((r) => r.serviceAccounts)
        : Promise.resolve([]),
      api<{ tokens: Token[]; quota: number }>("GET", path),
    ]);
    account = accounts.find((a) => a.id === serviceAccountId);
    first = listed;
  } catch (e) {
    if (e instanceof ApiError && e.code === "NOT_FOUND") return notFound(root, serviceAccountId);
    replace(root, pageHead("Tokens", "The tokens of a service account."), error.element);
    error.show(e);
    return;
  }
  const accountName = account?.name ?? serviceAccountId;

  const name = nameField("token-name", "Name", "e.g. cluster-a");
  const expires = expiryField("token-expiry");
  const create = h("button", { type: "submit", class: "primary" }, "Create token");
  guard(canCreate, "serviceaccounttoken.create", NOTE, name.input, expires.select, expires.date, create);
  const form = h("form", { class: "card create" }, name.element, expires.element, create);
  const quota = h("span", { class: "quota" });
  const roles = h("div", { class: "account-roles", id: "account-roles" });
  const created = h("div");
  const listing = h("div", { class: "card" });
  const reload = () => void loadOrRetry(listing, "the tokens", load);
  replace(
    root,
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/service-accounts" }, "Service accounts"),
      " › tokens",
    ),
    pageHead(
      `Tokens of ${accountName}`,
      "Agents present a token as 'Authorization: Bearer'; a deleted token is refused from its next call.",
      {
        quota,
        tools: [refreshButton(reload)],
      },
    ),
    roles,
    form,
    readOnlyNote(
      NOTE,
      canCreate && canDelete,
      "create or delete tokens",
      "serviceaccounttoken.create and serviceaccounttoken.delete",
    ),
    error.element,
    created,
    listing,
  );

  const showRoles = async () => {
    const { projects, bindings } = await tokenSetupData(context, serviceAccountId);
    const projectName = new Map(projects.map((p) => [p.id, p.name]));
    replace(
      roles,
      bindings
        ? h(
            "p",
            {},
            h("strong", {}, "Roles: "),
            roleChips(bindings, (id) => projectName.get(id) ?? id),
          )
        : null,
      bindings?.length === 0
        ? h(
            "p",
            { class: "warning-box", id: "no-binding-warning" },
            `“${accountName}” has no role binding, so every call with its tokens is refused (PERMISSION_DENIED). `,
            h("a", { href: "#/connect" }, "Connect an agent"),
            " or add a binding on the ",
            h("a", { href: "#/role-bindings" }, "Role bindings"),
            " page.",
          )
        : null,
    );
  };

  const render = ({ tokens, quota: max }: { tokens: Token[]; quota: number }) => {
    replace(quota, `${tokens.length} / ${max} tokens`);
    const rows = tokens.map((token) => {
      const remove = deleteButton(
        {
          allowed: canDelete,
          permission: "serviceaccounttoken.delete",
          noteId: NOTE,
          name: `Delete token ${token.name}`,
        },
        error,
        () => [
          `Delete token “${token.name}”?`,
          "Agents using it are refused (UNAUTHENTICATED) from their next call. This cannot be undone.",
          "Delete token",
        ],
        async () => {
          await api("DELETE", `tokens/${encodeURIComponent(token.id)}`);
          toast(`Token “${token.name}” deleted.`);
          await load();
        },
      );
      return h(
        "tr",
        { "data-id": token.id },
        h("td", { class: "name-cell" }, nameText(token.name)),
        h("td", {}, formatDate(token.createdAt)),
        h("td", { class: "last-used" }, lastUsed(token)),
        h("td", { class: "expires" }, expiry(token)),
        h("td", { class: "actions" }, remove),
      );
    });
    replace(listing, table(["Name", "Created", "Last used", "Expires", "Actions"], rows, "No tokens yet."));
  };
  const load = async () => {
    render(await api<{ tokens: Token[]; quota: number }>("GET", path));
    await showRoles();
  };

  onSubmit(form, create, canCreate, error, async () => {
    const expiresAt = expires.value();
    const answer = await api<{ token: Token }>("POST", path, {
      name: name.value(),
      ...(expiresAt ? { expiresAt } : {}),
    });
    name.reset();
    expires.reset();
    const { projects, bindings } = await tokenSetupData(context, serviceAccountId);
    replace(
      created,
      newTokenPanel(context, answer.token, accountName, projects, bindings, () => replace(created)),
    );
    toast(`Token “${answer.token.name}” created. Copy it now.`);
    await loadOrRetry(listing, "the tokens", load);
    highlightRow(listing, answer.token.id);
    document.getElementById("new-token-title")?.focus();
  });
  render(first);
  await showRoles().catch(error.show);
};
