import { api, type ServiceAccount, type Token } from "../api.js";
import type { Page } from "../context.js";
import { h, replace } from "../dom.js";
import { formatDate, relative } from "../format.js";
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

const DAY = 86_400_000;
const EXPIRIES: Array<[string, string]> = [
  ["", "Never"],
  ["30", "In 30 days"],
  ["90", "In 90 days"],
  ["365", "In 1 year"],
  ["date", "On a date…"],
];

/** The expiry chosen in the form, as RFC 3339, or undefined for none. */
function expiryOf(choice: string, date: string): string | undefined {
  if (choice === "") return undefined;
  if (choice === "date") return date ? new Date(`${date}T23:59:59`).toISOString() : undefined;
  return new Date(Date.now() + Number(choice) * DAY).toISOString();
}

function lastUsed(token: Token): HTMLElement {
  if (!token.lastUsedAt) return h("span", { class: "muted" }, "never");
  return h(
    "span",
    { title: token.lastUsedAt },
    `${formatDate(token.lastUsedAt)} (${relative(token.lastUsedAt)})`,
  );
}

function expiry(token: Token): HTMLElement {
  if (!token.expiresAt) return h("span", { class: "muted" }, "never");
  const past = Date.parse(token.expiresAt) <= Date.now();
  return h(
    "span",
    { title: token.expiresAt, class: past ? "expired" : "" },
    past ? `expired ${formatDate(token.expiresAt)}` : formatDate(token.expiresAt),
  );
}

/** The secret of a new token, shown once, with a copy button and the warning. */
function newTokenPanel(created: Token, dismiss: () => void): HTMLElement {
  const secret = h("input", {
    id: "new-token",
    class: "secret",
    readonly: true,
    value: created.token,
    spellcheck: "false",
    autocomplete: "off",
    "aria-label": "The new token",
  });
  secret.addEventListener("focus", () => secret.select());
  return h(
    "section",
    { class: "card new-token", role: "status" },
    h("h2", {}, `Token “${created.name}” created`),
    h(
      "p",
      { class: "warning" },
      "Copy it now: it will not be shown again. Only its hash is stored, so it cannot be recovered.",
    ),
    h(
      "div",
      { class: "copy-row" },
      secret,
      copyButton(() => secret.value, "Copy", secret),
    ),
    h(
      "p",
      { class: "hint" },
      "Save it in a file (mode 0600) and pass the file to parca-agent with --remote-store-bearer-token-file.",
    ),
    h("button", { type: "button", class: "secondary", onclick: dismiss }, "Done"),
  );
}

/** The tokens of one service account: list, create (secret shown once), delete, quota. */
export const tokensPage: Page = async (context, root, serviceAccountId = "") => {
  const error = errorLine();
  const canCreate = context.can("serviceaccounttoken.create");
  const canDelete = context.can("serviceaccounttoken.delete");
  const name = nameInput("token-name", "e.g. cluster-a");
  const choice = h(
    "select",
    { id: "token-expiry", name: "expiry" },
    ...EXPIRIES.map(([value, label]) => h("option", { value }, label)),
  );
  const date = h("input", {
    id: "token-expiry-date",
    type: "date",
    hidden: true,
    "aria-label": "Expiry date",
  });
  choice.addEventListener("change", () => {
    date.hidden = choice.value !== "date";
    date.required = choice.value === "date";
  });
  const create = h("button", { type: "submit", class: "primary" }, "Create token");
  guard(canCreate, "serviceaccounttoken.create", name, choice, date, create);
  const form = h(
    "form",
    { class: "card create" },
    h("label", { for: "token-name" }, "Name"),
    name,
    h("label", { for: "token-expiry" }, "Expires"),
    choice,
    date,
    create,
  );
  const head = h("div");
  const created = h("div");
  const refresh = h("button", { type: "button", class: "secondary small", id: "refresh-tokens" }, "Refresh");
  const listing = h("div", { class: "card" });
  replace(
    root,
    h("nav", { class: "crumbs" }, h("a", { href: "#/service-accounts" }, "Service accounts"), " › tokens"),
    head,
    form,
    readOnlyNote(canCreate, "create or delete tokens", "serviceaccounttoken.create"),
    error.element,
    created,
    listing,
  );

  const accountName = async () => {
    if (!context.can("serviceaccount.list")) return serviceAccountId;
    const { serviceAccounts } = await api<{ serviceAccounts: ServiceAccount[] }>("GET", "service-accounts");
    return serviceAccounts.find((a) => a.id === serviceAccountId)?.name ?? serviceAccountId;
  };
  const path = `service-accounts/${encodeURIComponent(serviceAccountId)}/tokens`;
  const load = async () => {
    const [owner, { tokens, quota }] = await Promise.all([
      accountName(),
      api<{ tokens: Token[]; quota: number }>("GET", path),
    ]);
    replace(
      head,
      pageHead(
        `Tokens of ${owner}`,
        "Agents present a token as 'Authorization: Bearer'; a deleted token is refused from its next call.",
        `${tokens.length} / ${quota} tokens`,
      ),
    );
    const rows = tokens.map((token) => {
      const remove = deleteButton(
        canDelete,
        "serviceaccounttoken.delete",
        error,
        () => [
          `Delete token “${token.name}”?`,
          "Agents using it are refused (UNAUTHENTICATED) from their next call. This cannot be undone.",
          "Delete token",
        ],
        () => api("DELETE", `tokens/${encodeURIComponent(token.id)}`).then(load),
      );
      return h(
        "tr",
        { "data-id": token.id },
        h("td", {}, token.name),
        h("td", {}, formatDate(token.createdAt)),
        h("td", { class: "last-used" }, lastUsed(token)),
        h("td", {}, expiry(token)),
        h("td", { class: "actions" }, remove),
      );
    });
    replace(
      listing,
      h("div", { class: "card-tools" }, refresh),
      table(["Name", "Created", "Last used", "Expires", ""], rows, "No tokens yet."),
    );
  };

  refresh.addEventListener("click", () => {
    error.clear();
    load().catch(error.show);
  });
  onSubmit(form, create, canCreate, error, async () => {
    const expiresAt = expiryOf(choice.value, date.value);
    const answer = await api<{ token: Token }>("POST", path, {
      name: name.value,
      ...(expiresAt ? { expiresAt } : {}),
    });
    name.value = "";
    replace(
      created,
      newTokenPanel(answer.token, () => replace(created)),
    );
    await load();
  });
  await load().catch((e) => {
    replace(head, pageHead("Tokens", "The tokens of a service account."));
    error.show(e);
  });
};
