import { join } from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot, signIn } from "../support/console-browser.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { tempDir } from "../support/temp-dir.js";

/** The WCAG contrast ratio of two `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, bl] = (color.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((c) => {
      const v = Number(c) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
}

/**
 * What a person sees the console do with their input and their navigation: refusals in words,
 * safe defaults, feedback, the state of accounts and tokens, and keyboard and screen-reader cues.
 */
describe("the console's feedback, defaults and cues", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let unboundId = "";

  const alert = () => page.locator("main [role=alert]:visible");
  const row = (...texts: string[]): Locator =>
    texts.reduce((rows, text) => rows.filter({ hasText: text }), page.locator("tbody tr"));
  const go = (hash: string) =>
    page.evaluate((h) => {
      location.hash = h;
    }, hash);

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(join(dir.path, "data"));
    boot = await readBootstrap(join(dir.path, "data"));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await page.goto(gateway.consoleUrl);
    await signIn(page, boot.ownerToken);
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await dir?.remove();
  });

  it("moves focus to the heading, retitles the page and marks the tab on every navigation", async () => {
    for (const [tab, title] of [
      ["role-bindings", "Role bindings"],
      ["projects", "Projects"],
      ["audit", "Audit log"],
      ["service-accounts", "Service accounts"],
    ]) {
      await page.click(`#tab-${tab}`);
      await expect.poll(() => page.title()).toBe(`${title} · profgate console`);
      expect(
        await page.evaluate(() => [document.activeElement?.tagName, document.activeElement?.textContent]),
      ).toEqual(["H1", title]);
      expect(await page.locator("nav.tabs [aria-current=page]").allTextContents()).toEqual([title]);
    }
    // Each row's controls say which row they act on.
    await row("agent").first().waitFor();
    expect(
      await page.getByRole("button", { name: "Delete service account agent", exact: true }).count(),
    ).toBe(1);
    expect(await page.getByRole("link", { name: "Tokens of agent", exact: true }).count()).toBe(1);
    // The focus ring: at least 3 px, and 3:1 against the page around it.
    await page.getByRole("button", { name: "Refresh" }).focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    const ring = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return { width: style.outlineWidth, style: style.outlineStyle, color: style.outlineColor };
    });
    expect(ring.style).toBe("solid");
    expect(Number.parseFloat(ring.width)).toBeGreaterThanOrEqual(3);
    expect(contrast(ring.color, "rgb(245, 246, 248)")).toBeGreaterThanOrEqual(3);
    expect(contrast(ring.color, "rgb(255, 255, 255)")).toBeGreaterThanOrEqual(3);
  });

  it("refuses a taken service-account or project name and an existing binding, naming them", async () => {
    await page.click("#tab-service-accounts");
    await page.fill("#sa-name", "agent");
    await page.click("button:has-text('Create service account')");
    await alert()
      .filter({ hasText: 'A service account named "agent" already exists in this organization' })
      .waitFor();
    expect(await page.getAttribute("#sa-name", "aria-invalid")).toBe("true");
    expect(await page.textContent("#sa-name-hint")).toBe(
      "This name is taken: service account names are unique.",
    );
    expect(await page.locator("tbody tr .name", { hasText: /^agent$/ }).count()).toBe(1);
    await screenshot(page, "duplicate-service-account");

    await page.click("#tab-projects");
    await page.fill("#project-name", "default");
    await page.click("button:has-text('Create project')");
    await alert()
      .filter({ hasText: 'A project named "default" already exists in this organization' })
      .waitFor();
    expect(await page.getAttribute("#project-name", "aria-invalid")).toBe("true");
    expect(await page.locator("tbody tr .name", { hasText: /^default$/ }).count()).toBe(1);

    await page.click("#tab-role-bindings");
    await row("agent", "writer").waitFor();
    await page.selectOption("#rb-subject", boot.agentServiceAccountId);
    await page.selectOption("#rb-role", "writer");
    await page.selectOption("#rb-project", boot.projectId);
    await page.click("button:has-text('Create role binding')");
    await alert()
      .filter({ hasText: "“agent” already has role writer on project “default”: there is nothing to add." })
      .waitFor();
    expect(await row("agent", "writer", "default").count()).toBe(1);
    await screenshot(page, "duplicate-binding");
  });

  it("starts the binding form empty, says what is missing, and resets it after a binding", async () => {
    await page.click("#tab-service-accounts");
    await page.fill("#sa-name", "unbound");
    await page.click("button:has-text('Create service account')");
    const created = page.locator(".toast", { hasText: "Service account “unbound” created." });
    await created.waitFor();
    // A toast never takes a click meant for what it covers.
    const box = await created.boundingBox();
    expect(
      await page.evaluate(
        ([x, y]) => document.elementFromPoint(x as number, y as number)?.closest(".toasts") ?? null,
        [(box?.x ?? 0) + 5, (box?.y ?? 0) + 5],
      ),
    ).toBeNull();
    await page.locator("tr.new", { hasText: "unbound" }).waitFor();
    unboundId = (await row("unbound").getAttribute("data-id")) ?? "";
    expect(await row("unbound").locator(".roles").textContent()).toBe(
      "⚠ No role: every call with its tokens is refused",
    );
    expect(await page.inputValue("#sa-name")).toBe("");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("sa-name");

    await page.click("#tab-role-bindings");
    await row("agent", "writer").waitFor();
    const form = () =>
      Promise.all([
        page.inputValue("#rb-subject"),
        page.inputValue("#rb-role"),
        page.inputValue("#rb-project"),
      ]);
    expect(await form()).toEqual(["", "", ""]);
    await page.click("button:has-text('Create role binding')");
    await alert().filter({ hasText: "Choose a service account, a role, a scope first." }).waitFor();

    await page.selectOption("#rb-subject", boot.agentServiceAccountId);
    await page.selectOption("#rb-role", "viewer");
    await page.selectOption("#rb-project", "organization");
    await page.click("button:has-text('Create role binding')");
    await page.locator(".toast", { hasText: "“agent” now has role viewer organization-wide." }).waitFor();
    await page.locator("tr.new", { hasText: "viewer" }).waitFor();
    expect(await form()).toEqual(["", "", ""]);
    expect(await alert().count()).toBe(0);
  });

  it("states the length limit and refuses a longer name where it was typed, without cutting it", async () => {
    await page.click("#tab-service-accounts");
    await row("unbound").waitFor();
    const before = await page.locator("tbody tr").count();
    expect(await page.textContent("#sa-name-hint")).toBe("1 to 128 characters.");
    await page.fill("#sa-name", "p".repeat(500));
    expect((await page.inputValue("#sa-name")).length).toBe(500);
    expect(await page.textContent("#sa-name-hint")).toBe(
      "Too long: 500 characters, at most 128. Shorten it; nothing is cut off for you.",
    );
    expect(await page.getAttribute("#sa-name", "aria-invalid")).toBe("true");
    await page.click("button:has-text('Create service account')");
    await alert().filter({ hasText: "The name is 500 characters long; names are at most 128." }).waitFor();
    expect(await page.locator("tbody tr").count()).toBe(before);
    await screenshot(page, "name-too-long");
    await page.fill("#sa-name", "");
  });

  it("shows an account without a binding, token expiries and a new token's agent set-up", async () => {
    await page.getByRole("link", { name: "Tokens of unbound", exact: true }).click();
    await page.locator("#no-binding-warning").waitFor();
    expect(await page.textContent("#no-binding-warning")).toContain("“unbound” has no role binding");

    // Expiry: 90 days unless chosen; "never" warns; the date picker starts tomorrow.
    expect(await page.inputValue("#token-expiry")).toBe("90");
    await page.selectOption("#token-expiry", "never");
    expect(await page.locator("#token-expiry-warning").isVisible()).toBe(true);
    await page.selectOption("#token-expiry", "date");
    const [min, tomorrow, inThreeDays] = await page.evaluate(() => {
      const local = (days: number) => {
        const d = new Date(Date.now() + days * 86_400_000);
        return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
      };
      return [(document.getElementById("token-expiry-date") as HTMLInputElement).min, local(1), local(3)];
    });
    expect(min).toBe(tomorrow);
    await page.fill("#token-name", "soon");
    await page.fill("#token-expiry-date", "2020-01-01");
    await page.click("button:has-text('Create token')");
    await alert()
      .filter({ hasText: `Choose an expiry date from ${tomorrow} on.` })
      .waitFor();
    await page.fill("#token-expiry-date", inThreeDays ?? "");
    await page.click("button:has-text('Create token')");

    // The new token: its set-up filled in, and the warning that it cannot push yet.
    await page.locator("#new-token").waitFor();
    const token = await page.inputValue("#new-token");
    expect(await page.textContent("#agent-manifest")).toContain(`token: "${token}"`);
    expect(await page.textContent("#agent-command")).toContain(`projectID=${boot.projectId}`);
    expect(await page.locator(".new-token .warning-box").textContent()).toContain(
      "“unbound” has no role that lets it push to “default”",
    );
    await page.locator("tr.new", { hasText: "soon" }).waitFor();
    expect(await row("soon").locator(".expires").textContent()).toMatch(/expires soon \(in (2|3) days\)$/);
    expect(await page.inputValue("#token-expiry")).toBe("90");
    await screenshot(page, "new-token-unbound");
  });

  it("keeps relative times current without a reload", async () => {
    const clocked = await context.newPage();
    await clocked.clock.install();
    try {
      await clocked.goto(`${gateway.consoleUrl}/#/service-accounts/${unboundId}`);
      await signIn(clocked, boot.ownerToken);
      const expires = clocked.locator("tbody tr", { hasText: "soon" }).locator(".expires time");
      await expires.waitFor();
      const first = await expires.textContent();
      expect(first).toMatch(/^in (2|3) days$/);
      await clocked.clock.fastForward(86_400_000);
      await expect.poll(() => expires.textContent()).toBe(first === "in 3 days" ? "in 2 days" : "in 1 day");
    } finally {
      await clocked.close();
    }
  });

  it("shows an unknown service account as not found, with no form to fill", async () => {
    await go("#/service-accounts/00000000-0000-0000-0000-000000000000");
    await page.locator("h1", { hasText: "Service account not found" }).waitFor();
    expect(await page.locator("#token-name").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Create token" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Back to the service accounts" }).count()).toBe(1);
  });

  it("offers Retry when a load fails, and loads once the gateway is back", async () => {
    await go(`#/service-accounts/${unboundId}`);
    await row("soon").waitFor();
    const port = new URL(gateway.consoleUrl).port;
    await gateway.stop();
    await page.getByRole("button", { name: "Refresh" }).click();
    const failed = page.locator(".load-failed");
    await failed.waitFor();
    expect(await failed.textContent()).toContain(
      "Could not load the tokens: The gateway cannot be reached; check that it is running.",
    );
    await screenshot(page, "load-failed");
    gateway = await startGateway(join(dir.path, "data"), ["--console-address", `127.0.0.1:${port}`]);
    await failed.getByRole("button", { name: "Retry" }).click();
    await row("soon").waitFor();
    expect(await failed.count()).toBe(0);
  });
});
