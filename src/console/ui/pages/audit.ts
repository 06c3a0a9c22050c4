import { type AuditEvent, api, type Project, type ServiceAccount } from "../api.js";
import type { Page } from "../context.js";
import { h, replace } from "../dom.js";
import { loadOrRetry } from "../feedback.js";
import { formatDate } from "../format.js";
import { nameText, pageHead, readOnlyNote, refreshButton, table } from "../widgets.js";

/** The organization's IAM changes, newest first (owners only). */
export const auditPage: Page = async (context, root) => {
  const listing = h("div", { class: "card" });
  const allowed = context.can("auditlog.list");
  const head = pageHead(
    "Audit log",
    "Who changed what in this organization's IAM, newest first (the last 100 changes).",
    allowed ? { tools: [refreshButton(() => void loadOrRetry(listing, "the audit log", load))] } : {},
  );
  if (!allowed) {
    replace(root, head, readOnlyNote("audit-read-only", false, "read the audit log", "auditlog.list"));
    return;
  }
  replace(root, head, listing);
  const load = async () => {
    const [{ events }, accounts, projects] = await Promise.all([
      api<{ events: AuditEvent[] }>("GET", "audit-events?limit=100"),
      api<{ serviceAccounts: ServiceAccount[] }>("GET", "service-accounts").then((r) => r.serviceAccounts),
      api<{ projects: Project[] }>("GET", "projects").then((r) => r.projects),
    ]);
    // Ids of what still exists read as names; deleted ones stay ids.
    const names = new Map([...accounts, ...projects].map((r) => [r.id, r.name]));
    const named = (id: string) => names.get(id) ?? id;
    const rows = events.map((event) =>
      h(
        "tr",
        {},
        h("td", { class: "nowrap", title: event.time }, formatDate(event.time)),
        h("td", { class: "name-cell" }, nameText(event.actor ? named(event.actor) : "bootstrap")),
        h("td", {}, h("code", {}, event.action)),
        h("td", { title: event.resourceId }, h("code", {}, `${event.resourceId.slice(0, 8)}…`)),
        h(
          "td",
          { class: "details" },
          Object.entries(event.details)
            .map(([key, value]) => `${key}=${named(value)}`)
            .join("  "),
        ),
      ),
    );
    replace(listing, table(["Time", "Actor", "Action", "Resource", "Details"], rows, "No changes yet."));
  };
  await loadOrRetry(listing, "the audit log", load);
};
