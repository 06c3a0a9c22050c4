import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { ROLE_DESCRIPTIONS } from "../../src/iam/permissions.js";
import { AdminClient } from "../../src/cli/iam/admin-client.js";
import { AuditService, ServiceAccountService } from "../../src/gen/profgate/iam/v1/iam_pb.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { launchChromium, screenshot, seriousViolations } from "../support/console-browser.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = /^psc_v1_[0-9a-f]{64}$/;

describe("the IAM web console in a browser", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const secrets: string[] = [];
  const urls: string[] = [];
  const pageErrors: string[] = [];
  // Filled in by the workflow, used by the tests after it.
  let projectId = "";
  let fleetToken = "";
  let viewerToken = "";

  /** Every state pictured passes axe-core too; the picture never holds a token. */
  const shot = async (name: string) => {
    expect(await seriousViolations(page), name).toEqual([]);
    await screenshot(page, name);
  };
  const row = (...texts: string[]): Locator =>
    texts.reduce((rows, text) => rows.filter({ hasText: text }), page.locator("tbody tr"));
  const alert = () => page.locator("main [role=alert]:visible");
  const push = async (token: string) => {
    const agent = new AgentClient(gateway.target, { token, projectId });
    try {
      await agent.writeArrow(encodeArrowV2());
      return status.OK;
    } catch (error) {
      return (error as { code: number }).code;
    } finally {
      agent.close();
    }
  };
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  const signIn = async (token: string) => {
    await page.fill("#token", token);
    await page.click("button:has-text('Sign in')");
  };

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(join(dir.path, "data"), [
      "--console-address",
      "127.0.0.1:0",
      "--last-used-flush-interval",
      "200ms",
    ]);
    boot = await readBootstrap(join(dir.path, "data"));
    secrets.push(boot.ownerToken, boot.agentToken);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gateway.consoleUrl });
    page = await context.newPage();
    page.on("request", (request) => urls.push(request.url()));
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await dir?.remove();
  });

  it("serves the console with a strict Content-Security-Policy and a sign-in page", async () => {
    const response = await page.goto(gateway.consoleUrl);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    await page.locator("#token").waitFor();
    await shot("sign-in");

    await signIn(`psc_v1_${"0".repeat(64)}`);
    await expect(alert().textContent()).resolves.toBe("Invalid token: it is unknown or has been revoked.");
    await signIn(boot.ownerToken);
    await page.locator("#org-name").waitFor();
    expect(await page.textContent("#org-name")).toBe("default");
    expect(await page.textContent("#me-name")).toBe("owner");
  });

  it("runs the service-account workflow: project, account, binding, token, push, last used, revocation", async () => {
    // Projects: create one, copy its id, and read its agent set-up.
    await page.click("#tab-projects");
    await page.fill("#project-name", "production");
    await page.click("button:has-text('Create project')");
    await row("production").waitFor();
    projectId = (await row("production").getAttribute("data-id")) ?? "";
    expect(projectId).toMatch(/^[0-9a-f-]{36}$/);
    await row("production").getByRole("button", { name: "Copy ID" }).click();
    expect(await clipboard()).toBe(projectId);
    await row("production").getByRole("link", { name: "Connect an agent to project production" }).click();
    await page.getByText("Already have a token?").click();
    await page.locator("#agent-command-template").waitFor();
    const command = (await page.textContent("#agent-command-template")) ?? "";
    expect(command).toContain(`--remote-store-address=${gateway.target}`);
    expect(command).toContain("--remote-store-insecure");
    expect(command).toContain("--remote-store-bearer-token-file=");
    expect(command).toContain(`--remote-store-grpc-headers=projectID=${projectId}`);
    const manifest = (await page.textContent("#agent-manifest-template")) ?? "";
    expect(manifest).toContain("kind: Secret");
    expect(manifest).toContain("kind: DaemonSet");
    expect(manifest).toContain(`--remote-store-grpc-headers=projectID=${projectId}`);
    expect(manifest).toContain('token: "<paste the psc_v1_ token>"');
    await shot("connect-placeholder");

    // Service accounts: an API error shows as its sentence; then a real one.
    await page.click("#tab-service-accounts");
    await page.fill("#sa-name", "   ");
    await page.click("button:has-text('Create service account')");
    await alert().filter({ hasText: "Enter a name (1 to 128 characters)." }).waitFor();
    await page.fill("#sa-name", "k8s-agents");
    await page.click("button:has-text('Create service account')");
    await row("k8s-agents").waitFor();
    const accountId = (await row("k8s-agents").getAttribute("data-id")) ?? "";
    expect(await row("k8s-agents").textContent()).toContain("0 / 100");
    expect(await page.textContent(".quota")).toBe("3 / 50 service accounts");
    expect(await alert().count()).toBe(0);
    await shot("service-accounts");

    // Role bindings: writer on the project, the role described in one line.
    await page.click("#tab-role-bindings");
    await page.locator(`#rb-subject option[value="${accountId}"]`).waitFor({ state: "attached" });
    await page.selectOption("#rb-subject", accountId);
    await page.selectOption("#rb-role", "writer");
    expect(await page.textContent("#rb-role-description")).toBe(ROLE_DESCRIPTIONS.writer);
    await page.selectOption("#rb-project", projectId);
    await page.click("button:has-text('Create role binding')");
    await row("k8s-agents", "production").waitFor();
    const cells = await row("k8s-agents", "production").locator("td").allTextContents();
    expect(cells.slice(0, 3)).toEqual(["k8s-agents", "writer", "production"]);
    expect(await row("owner", "Organization-wide").count()).toBe(1);
    await shot("role-bindings");

    // Tokens: create one; it is shown once, in a read-only box, and copied to the clipboard.
    await page.click("#tab-service-accounts");
    await row("k8s-agents").getByRole("link", { name: "Tokens" }).click();
    await page.fill("#token-name", "cluster-a");
    await page.selectOption("#token-expiry", "90");
    await page.click("button:has-text('Create token')");
    await page.locator("#new-token").waitFor();
    fleetToken = await page.inputValue("#new-token");
    secrets.push(fleetToken);
    expect(fleetToken).toMatch(TOKEN);
    expect(await page.getAttribute("#new-token", "readonly")).not.toBeNull();
    expect(await page.textContent(".new-token .warning")).toContain("it will not be shown again");
    await page.getByRole("button", { name: "Copy the new token" }).click();
    expect(await clipboard()).toBe(fleetToken);
    expect(await row("cluster-a").locator(".last-used").textContent()).toBe("never");
    expect(await page.textContent(".quota")).toBe("1 / 100 tokens");
    await shot("token-created");

    // The token pushes; after a reload the table shows when it was last used.
    expect(await push(fleetToken)).toBe(status.OK);
    await page.reload();
    await row("cluster-a").waitFor();
    expect(await page.locator("#new-token").count()).toBe(0);
    let lastUsed = "";
    for (let i = 0; i < 50 && !/just now/.test(lastUsed); i++) {
      await page.getByRole("button", { name: "Refresh" }).click();
      await row("cluster-a").waitFor();
      lastUsed = (await row("cluster-a").locator(".last-used").textContent()) ?? "";
      if (!/just now/.test(lastUsed)) await page.waitForTimeout(100);
    }
    expect(lastUsed).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d \(just now\)$/);
    await shot("tokens");

    // Deleting the account would say what goes with it.
    await page.click("#tab-service-accounts");
    await row("k8s-agents").getByRole("button", { name: "Delete" }).click();
    const dialog = page.locator("dialog.confirm");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("its 1 token and 1 role binding");
    await shot("confirm-delete");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await row("k8s-agents").count()).toBe(1);

    // Deleting the token in the console: the next push is refused.
    await row("k8s-agents").getByRole("link", { name: "Tokens" }).click();
    await row("cluster-a").getByRole("button", { name: "Delete" }).click();
    await dialog.getByRole("button", { name: "Delete token" }).click();
    await row("cluster-a").waitFor({ state: "detached" });
    expect(await page.textContent("tbody")).toContain("No tokens yet.");
    expect(await push(fleetToken)).toBe(status.UNAUTHENTICATED);
  });

  it("goes through the same API, permissions and audit trail as the admin API", async () => {
    const accounts = new AdminClient(ServiceAccountService, gateway.adminTarget, boot.ownerToken);
    const { serviceAccounts } = await accounts.call("listServiceAccounts", {});
    accounts.close();
    expect(serviceAccounts.map((a) => a.name)).toContain("k8s-agents");
    const auditClient = new AdminClient(AuditService, gateway.adminTarget, boot.ownerToken);
    const { events } = await auditClient.call("listAuditEvents", { limit: 20 });
    auditClient.close();
    const byOwner = events.filter((e) => e.actor === boot.ownerServiceAccountId).map((e) => e.action);
    for (const action of [
      "project.create",
      "serviceaccount.create",
      "rolebinding.create",
      "serviceaccounttoken.create",
      "serviceaccounttoken.delete",
    ]) {
      expect(byOwner).toContain(action);
    }

    const anonymous = await fetch(`${gateway.consoleUrl}/api/service-accounts`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({
      error: expect.stringMatching(/^Missing credentials/),
      code: "UNAUTHENTICATED",
    });
    const revoked = await fetch(`${gateway.consoleUrl}/api/whoami`, {
      headers: { authorization: `Bearer ${fleetToken}` },
    });
    expect(revoked.status).toBe(401);
    const unknown = await fetch(`${gateway.consoleUrl}/api/tokens/00000000-0000-0000-0000-000000000000`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${boot.ownerToken}` },
    });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe("NOT_FOUND");

    await page.click("#tab-audit");
    await row("serviceaccounttoken.delete").waitFor();
    expect(await row("serviceaccount.create", "owner").count()).toBeGreaterThan(0);
    await shot("audit");
  });

  it("lets a viewer see every page with the changes disabled", async () => {
    // An account with role viewer and its token, made in the console.
    await page.click("#tab-service-accounts");
    await page.fill("#sa-name", "auditor");
    await page.click("button:has-text('Create service account')");
    await row("auditor").waitFor();
    const viewerId = (await row("auditor").getAttribute("data-id")) ?? "";
    await page.click("#tab-role-bindings");
    await page.locator(`#rb-subject option[value="${viewerId}"]`).waitFor({ state: "attached" });
    await page.selectOption("#rb-subject", viewerId);
    await page.selectOption("#rb-role", "viewer");
    await page.selectOption("#rb-project", "organization");
    await page.click("button:has-text('Create role binding')");
    await row("auditor", "viewer").waitFor();
    await page.goto(`${gateway.consoleUrl}/#/service-accounts/${viewerId}`);
    await page.fill("#token-name", "laptop");
    await page.click("button:has-text('Create token')");
    await page.locator("#new-token").waitFor();
    viewerToken = await page.inputValue("#new-token");
    secrets.push(viewerToken);
    expect(viewerToken).toMatch(TOKEN);

    await page.click("#sign-out");
    await page.locator("#token").waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(viewerToken);
    await page.locator("#org-name").waitFor();
    expect(await page.textContent(".topbar .badge")).toBe("read-only");

    await page.click("#tab-service-accounts");
    await row("k8s-agents").waitFor();
    expect(await page.isDisabled("#sa-name")).toBe(true);
    expect(await page.isDisabled("button:has-text('Create service account')")).toBe(true);
    expect(await row("k8s-agents").getByRole("button", { name: "Delete" }).isDisabled()).toBe(true);
    // Why, in words on the page that the disabled controls point to.
    const reason = await row("k8s-agents")
      .getByRole("button", { name: "Delete" })
      .getAttribute("aria-describedby");
    expect(await page.getAttribute("#sa-name", "aria-describedby")).toContain(reason ?? "-");
    expect(await page.locator(`#${reason}`).isVisible()).toBe(true);
    expect(await page.textContent(`#${reason}`)).toBe(
      "Read-only: your role cannot create or delete service accounts (it needs serviceaccount.create and serviceaccount.delete).",
    );
    await shot("viewer-service-accounts");

    await page.click("#tab-role-bindings");
    await row("k8s-agents", "production").waitFor();
    expect(await page.isDisabled("button:has-text('Create role binding')")).toBe(true);
    expect(await row("k8s-agents", "production").getByRole("button", { name: "Delete" }).isDisabled()).toBe(
      true,
    );
    await shot("viewer-role-bindings");

    await page.click("#tab-projects");
    await row("production").waitFor();
    expect(await page.isDisabled("button:has-text('Create project')")).toBe(true);
    expect(await row("production").getByRole("button", { name: "Delete" }).isDisabled()).toBe(true);
    await shot("viewer-projects");
    await row("production").getByRole("link", { name: "Connect an agent to project production" }).click();
    await page.locator(".note", { hasText: "connecting an agent needs" }).waitFor();
    expect(await page.isDisabled("#connect-submit")).toBe(true);
    await page.getByText("Already have a token?").click();
    await page.locator("#agent-command-template").waitFor();
    await shot("viewer-connect");

    await page.click("#tab-service-accounts");
    await row("k8s-agents").getByRole("link", { name: "Tokens" }).click();
    await page.locator(".page-head h1", { hasText: "Tokens of k8s-agents" }).waitFor();
    expect(await page.isDisabled("button:has-text('Create token')")).toBe(true);
    await shot("viewer-tokens");

    await page.click("#tab-audit");
    // The tokens page's note stays until the audit page has rendered: wait for the audit page's.
    await page.locator(".note", { hasText: "it needs auditlog.list" }).waitFor();
    await shot("viewer-audit");

    // Refused by the API too, in the same words as the admin API.
    const refused = await fetch(`${gateway.consoleUrl}/api/service-accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${viewerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "nope" }),
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: expect.stringContaining("serviceaccount.create is missing"),
      code: "PERMISSION_DENIED",
    });
  });

  it("keeps tokens in session storage only: never in a URL, local storage, a cookie or a log line", async () => {
    const storage = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: localStorage.length,
    }));
    expect(storage.session).toEqual([viewerToken]);
    expect(storage.local).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect(urls.length).toBeGreaterThan(20);
    expect(urls.every((url) => url.startsWith(gateway.consoleUrl))).toBe(true);
    const logs = await gateway.log((text) => text.includes("console call finished"));
    expect(logs).toContain("console call finished");
    for (const secret of secrets) {
      const hex = secret.slice("psc_v1_".length);
      expect(urls.filter((url) => url.includes(hex))).toEqual([]);
      expect(logs).not.toContain(hex);
    }
    expect(pageErrors).toEqual([]);
  });
});
