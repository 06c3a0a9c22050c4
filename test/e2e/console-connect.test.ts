import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchChromium,
  screenshot,
  seriousViolations,
  signIn,
  VIEWPORTS,
  type ViewportName,
} from "../support/console-browser.js";
import { profgate } from "../support/cli.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = /psc_v1_[0-9a-f]{64}/;

/**
 * The guided flow a new operator follows, on a desktop and on a phone: from a project to an
 * agent pushing with the token the console made, using only what the console showed.
 */
describe("connecting an agent from the console", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;
  let browser: Browser;
  const secrets: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(join(dir.path, "data"), ["--last-used-flush-interval", "200ms"]);
    boot = await readBootstrap(join(dir.path, "data"));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await dir?.remove();
  });

  /** The push an agent run from the shown command line makes, with the token from the shown Secret. */
  const pushAsShown = async (command: string, manifest: string, tokenFile: string) => {
    const address = /--remote-store-address=(\S+)/.exec(command)?.[1] ?? "";
    const projectId = /--remote-store-grpc-headers=projectID=(\S+)/.exec(command)?.[1] ?? "";
    const token = /token: "(psc_v1_[0-9a-f]{64})"/.exec(manifest)?.[1] ?? "";
    await writeFile(tokenFile, token, { mode: 0o600 });
    const run = await profgate([
      "loadgen",
      "--target",
      address,
      "--token-file",
      tokenFile,
      "--project",
      projectId,
      "--agents",
      "1",
      "--rate",
      "10",
      "--duration",
      "1s",
      "--mix",
      "writearrow=100",
      "-o",
      "json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    return { projectId, summary: JSON.parse(run.stdout) as { calls: number; codes: Record<string, number> } };
  };

  it.each(Object.keys(VIEWPORTS) as ViewportName[])(
    "goes from a project to a pushing agent, on %s",
    async (viewport) => {
      const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gateway.consoleUrl });
      const page: Page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      const project = `prod-${viewport}`;
      const account = `agents-${viewport}`;
      try {
        await page.goto(gateway.consoleUrl);
        await signIn(page, boot.ownerToken);

        // A project, created and shown as new.
        await page.getByRole("link", { name: "Projects" }).click();
        await page.fill("#project-name", project);
        await page.getByRole("button", { name: "Create project" }).click();
        await page.locator("tr.new", { hasText: project }).waitFor();
        await expect(page.locator(".toast").last().textContent()).resolves.toBe(
          `Project “${project}” created.`,
        );

        // From its row, the guided flow, with the project chosen and safe defaults.
        await page.getByRole("link", { name: `Connect an agent to project ${project}` }).click();
        await page.locator("#connect-form").waitFor();
        await expect.poll(() => page.title()).toBe("Connect an agent · profgate console");
        expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Connect an agent");
        expect(await page.getAttribute("#tab-connect", "aria-current")).toBe("page");
        const projectId = await page.inputValue("#connect-project");
        expect(await page.locator("#connect-project option:checked").textContent()).toBe(project);
        expect(await page.inputValue("#connect-account")).toBe("new");
        expect(await page.isChecked("#connect-role-writer")).toBe(true);
        expect(await page.inputValue("#connect-token-name")).toBe("parca-agent");
        expect(await page.textContent("#connect-token-name-hint")).toBe("1 to 128 characters (11 so far).");
        expect(await page.inputValue("#connect-expiry")).toBe("90");
        await page.selectOption("#connect-expiry", "never");
        expect(await page.locator("#connect-expiry-warning").isVisible()).toBe(true);
        await page.selectOption("#connect-expiry", "90");
        expect(await page.locator("#connect-expiry-warning").isVisible()).toBe(false);

        // A taken name is refused where it was typed, and nothing is made.
        await page.fill("#connect-account-name", "owner");
        await page.click("#connect-submit");
        await page
          .locator("#connect-form [role=alert]", {
            hasText: 'A service account named "owner" already exists',
          })
          .waitFor();
        expect(await page.getAttribute("#connect-account-name", "aria-invalid")).toBe("true");
        expect(await page.textContent("#connect-account-name-hint")).toContain("This name is taken");
        expect(await page.locator("#connect-result").count()).toBe(0);

        await page.fill("#connect-account-name", account);
        await page.click("#connect-submit");
        await page.locator("#connect-result").waitFor();
        expect(await page.locator("#connect-steps li").allTextContents()).toEqual([
          `Service account “${account}” created.`,
          `Role writer granted to “${account}” on project “${project}”.`,
          "Token “parca-agent” created.",
        ]);
        expect(await page.evaluate(() => document.activeElement?.id)).toBe("connect-result-title");
        const token = await page.inputValue("#new-token");
        expect(token).toMatch(TOKEN);
        secrets.push(token);

        // The set-up with this gateway's address, the project and the token filled in.
        const command = (await page.textContent("#agent-command")) ?? "";
        const manifest = (await page.textContent("#agent-manifest")) ?? "";
        expect(command).toContain(`--remote-store-address=${gateway.target}`);
        expect(command).toContain("--remote-store-insecure");
        expect(command).toContain(`--remote-store-grpc-headers=projectID=${projectId}`);
        expect(command).toContain(`printf '%s' '${token}' > /var/profgate/token`);
        expect(manifest).toContain(`token: "${token}"`);
        expect(manifest).toContain("kind: DaemonSet");
        expect(manifest).not.toContain("<paste");
        await page.getByRole("button", { name: "Copy command line" }).click();
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
        await page.getByRole("button", { name: "Copy kubernetes secret + daemonset" }).click();
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(manifest);
        await page.getByRole("button", { name: "Copy the new token" }).click();
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
        expect(
          await page.locator("#connect-result").evaluate((e) => e.scrollWidth <= e.clientWidth + 1),
        ).toBe(true);
        expect(await seriousViolations(page)).toEqual([]);
        await screenshot(page, `connect-done-${viewport}`);

        // An agent started as shown pushes: accepted, stored, counted.
        const before = metricValue(
          parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text()),
          "grpc_server_handled_total",
          {
            grpc_method: "WriteArrow",
            grpc_code: "OK",
          },
        );
        const tokenFile = join(dir.path, `${viewport}.token`);
        const pushed = await pushAsShown(command, manifest, tokenFile);
        expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
        expect(pushed.projectId).toBe(projectId);
        expect(pushed.summary.calls).toBeGreaterThan(0);
        expect(pushed.summary.codes).toEqual({ OK: pushed.summary.calls });
        const stored = await sinkRecords(join(dir.path, "data"), projectId);
        expect(stored.length).toBe(pushed.summary.calls);
        const after = metricValue(
          parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text()),
          "grpc_server_handled_total",
          {
            grpc_method: "WriteArrow",
            grpc_code: "OK",
          },
        );
        expect(after - before).toBe(pushed.summary.calls);

        // The account's page: its role, and the token used just now.
        await page.getByRole("link", { name: "Service accounts" }).first().click();
        const row = page.locator("tbody tr", { hasText: account });
        await expect(row.locator(".roles").textContent()).resolves.toBe(`writer on ${project}`);
        await page.getByRole("link", { name: `Tokens of ${account}` }).click();
        await page.locator("h1", { hasText: `Tokens of ${account}` }).waitFor();
        await expect.poll(() => page.title()).toBe(`Tokens of ${account} · profgate console`);
        expect(await page.textContent("#account-roles")).toContain(`writer on ${project}`);
        let lastUsed = "";
        for (let i = 0; i < 50 && !lastUsed.includes("just now"); i++) {
          await page.getByRole("button", { name: "Refresh" }).click();
          await page.locator("tbody tr", { hasText: "parca-agent" }).waitFor();
          lastUsed =
            (await page
              .locator("tbody tr", { hasText: "parca-agent" })
              .locator(".last-used")
              .textContent()) ?? "";
          if (!lastUsed.includes("just now")) await page.waitForTimeout(100);
        }
        expect(lastUsed).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d \(just now\)$/);
        await screenshot(page, `connect-tokens-${viewport}`);
        expect(pageErrors).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it("reuses an existing account, and counts a binding it already has as done", async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const page = await context.newPage();
    try {
      await page.goto(`${gateway.consoleUrl}/#/connect`);
      await signIn(page, boot.ownerToken);
      await page.locator("#connect-form").waitFor();
      // Opened without a project: none is chosen for the person.
      expect(await page.inputValue("#connect-project")).toBe("");
      await page.click("#connect-submit");
      await page
        .locator("#connect-form [role=alert]", { hasText: "Choose the project the agent pushes to." })
        .waitFor();
      await page.selectOption("#connect-project", { label: "prod-desktop" });
      await page.selectOption("#connect-account", { label: "agents-desktop" });
      expect(await page.locator("#connect-account-name").isVisible()).toBe(false);
      await page.check("#connect-role-profile-writer");
      const steps = async (tokenName: string) => {
        await page.fill("#connect-token-name", tokenName);
        await page.click("#connect-submit");
        await page.locator("#connect-steps li", { hasText: `Token “${tokenName}” created.` }).waitFor();
        secrets.push(await page.inputValue("#new-token"));
        return page.locator("#connect-steps li").allTextContents();
      };
      expect(await steps("second")).toEqual([
        "Service account “agents-desktop” chosen.",
        "Role profile-writer granted to “agents-desktop” on project “prod-desktop”.",
        "Token “second” created.",
      ]);
      expect(await steps("third")).toEqual([
        "Service account “agents-desktop” chosen.",
        "“agents-desktop” already had role profile-writer on project “prod-desktop”.",
        "Token “third” created.",
      ]);
    } finally {
      await context.close();
    }
  });

  it("leaves no token in the gateway's log", async () => {
    expect(secrets).toHaveLength(4);
    const log = await gateway.log();
    for (const secret of secrets) expect(log).not.toContain(secret.slice("psc_v1_".length));
  });
});
