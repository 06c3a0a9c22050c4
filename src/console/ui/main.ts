import { type AgentEndpoint, ApiError, api, type Me, type RoleInfo, whenUnauthenticated } from "./api.js";
import type { Context, Page } from "./context.js";
import { h, replace } from "./dom.js";
import { auditPage } from "./pages/audit.js";
import { connectPage } from "./pages/connect.js";
import { projectsPage } from "./pages/projects.js";
import { roleBindingsPage } from "./pages/role-bindings.js";
import { serviceAccountsPage } from "./pages/service-accounts.js";
import { signInPage } from "./pages/sign-in.js";
import { tokensPage } from "./pages/tokens.js";
import { keepTimesCurrent } from "./relative-time.js";
import { session } from "./session.js";

const TABS: Array<[string, string]> = [
  ["service-accounts", "Service accounts"],
  ["role-bindings", "Role bindings"],
  ["projects", "Projects"],
  ["audit", "Audit log"],
  ["connect", "Connect an agent"],
];

/** Hash routes (never carrying a secret): pattern, page, and the tab it belongs to. */
const ROUTES: Array<[RegExp, Page, string]> = [
  [/^#\/service-accounts\/([0-9a-f-]+)$/, tokensPage, "service-accounts"],
  [/^#\/service-accounts$/, serviceAccountsPage, "service-accounts"],
  [/^#\/role-bindings$/, roleBindingsPage, "role-bindings"],
  [/^#\/projects$/, projectsPage, "projects"],
  [/^#\/(?:connect|projects)\/([0-9a-f-]+)$/, connectPage, "connect"],
  [/^#\/connect$/, connectPage, "connect"],
  [/^#\/audit$/, auditPage, "audit"],
];

const app = document.getElementById("app") as HTMLElement;
let current: { context: Context; main: HTMLElement; tabs: Map<string, HTMLElement> } | undefined;

function showSignIn(message?: string): void {
  current = undefined;
  signInPage(app, message, () => void open());
}

function signOut(message?: string): void {
  session.signOut();
  showSignIn(message);
}

function whoLine(me: Me): string {
  const roles = [...new Set(me.grants.filter((g) => !g.projectId).map((g) => g.role))];
  const scoped = me.grants.filter((g) => g.projectId).length;
  const parts = [...roles, ...(scoped > 0 ? [`${scoped} project binding${scoped === 1 ? "" : "s"}`] : [])];
  return parts.length > 0 ? parts.join(", ") : "no role";
}

function shell(context: Context): { main: HTMLElement; tabs: Map<string, HTMLElement> } {
  const { me } = context;
  const tabs = new Map(TABS.map(([id, label]) => [id, h("a", { href: `#/${id}`, id: `tab-${id}` }, label)]));
  const main = h("main", { id: "page" });
  const readOnly = !context.can("serviceaccount.create");
  replace(
    app,
    h(
      "header",
      { class: "topbar" },
      h(
        "div",
        { class: "brand" },
        h("img", { src: "favicon.svg", alt: "", width: 22, height: 22 }),
        "profgate",
      ),
      h(
        "div",
        { class: "who" },
        h(
          "span",
          { class: "who-item" },
          h("span", { class: "who-label" }, "Organization "),
          h("strong", { id: "org-name", class: "name" }, me.organization.name || me.organization.id),
        ),
        h(
          "span",
          { class: "who-item" },
          h("span", { class: "who-label" }, "Signed in as "),
          h("strong", { id: "me-name", class: "name" }, me.serviceAccount.name || me.serviceAccount.id),
          h("span", { class: "role" }, ` · role ${whoLine(me)}`),
        ),
        readOnly ? h("span", { class: "badge" }, "read-only") : null,
        h(
          "button",
          { type: "button", id: "sign-out", class: "secondary small", onclick: () => signOut() },
          "Sign out",
        ),
      ),
    ),
    h("nav", { class: "tabs", "aria-label": "Console" }, ...tabs.values()),
    main,
  );
  return { main, tabs };
}

async function route(): Promise<void> {
  if (!current) return;
  const found = ROUTES.map(([pattern, page, tab]) => ({
    match: pattern.exec(location.hash),
    page,
    tab,
  })).find((r) => r.match);
  if (!found) {
    location.replace("#/service-accounts");
    return;
  }
  for (const [id, tab] of current.tabs) {
    tab.classList.toggle("active", id === found.tab);
    if (id === found.tab) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  // Each visit renders into its own element, so a slow earlier page cannot overwrite this one.
  const root = h("div", { class: "page" });
  replace(current.main, root);
  await found.page(current.context, root, found.match?.[1]);
  if (!root.isConnected) return;
  // The heading names the page: for the title, and where focus lands, as after a page load.
  const heading = root.querySelector<HTMLElement>("h1");
  document.title = `${heading?.textContent ?? "profgate"} · profgate console`;
  if (!root.contains(document.activeElement)) heading?.focus({ preventScroll: false });
}

async function open(): Promise<void> {
  try {
    const [me, { roles }, endpoint] = await Promise.all([
      api<Me>("GET", "whoami"),
      api<{ roles: RoleInfo[] }>("GET", "roles"),
      api<AgentEndpoint>("GET", "agent-endpoint"),
    ]);
    const permissions = new Set(me.permissions);
    const context: Context = { me, roles, endpoint, can: (p) => permissions.has(p) };
    current = { context, ...shell(context) };
    await route();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(app, h("p", { class: "error", role: "alert" }, (error as Error).message));
  }
}

whenUnauthenticated((error) => signOut(error.message));
keepTimesCurrent();
window.addEventListener("hashchange", () => void route());
if (session.token()) void open();
else showSignIn();
