import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchChromium,
  overflow,
  screenshot,
  seriousViolations,
  signIn,
  VIEWPORTS,
  type ViewportName,
} from "../support/console-browser.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { tempDir } from "../support/temp-dir.js";

/** Names as long as the API allows, without a space to break at. */
const LONG_ACCOUNT = `svc${"x".repeat(125)}`;
const LONG_PROJECT = `prj${"y".repeat(125)}`;
const LONG_TOKEN = `tok${"z".repeat(125)}`;

/**
 * Every page of the console on a desktop and on a phone, with the longest names there can be:
 * no page wider than the screen, no serious or critical axe-core violation, a screenshot each.
 */
describe("the console's pages at 1280x800 and 390x844", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;
  let browser: Browser;
  let accountId = "";
  let projectId = "";

  const call = async <T>(verb: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${gateway.consoleUrl}/api/${path}`, {
      method: verb,
      headers: { authorization: `Bearer ${boot.ownerToken}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${verb} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(join(dir.path, "data"));
    boot = await readBootstrap(join(dir.path, "data"));
    browser = await launchChromium();
    ({
      serviceAccount: { id: accountId },
    } = await call<{ serviceAccount: { id: string } }>("POST", "service-accounts", { name: LONG_ACCOUNT }));
    ({
      project: { id: projectId },
    } = await call<{ project: { id: string } }>("POST", "projects", { name: LONG_PROJECT }));
    await call("POST", "role-bindings", { serviceAccountId: accountId, role: "writer", projectId });
    await call("POST", `service-accounts/${accountId}/tokens`, {
      name: LONG_TOKEN,
      expiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    });
    await call("POST", "service-accounts", { name: "unbound" });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await dir?.remove();
  });

  /** The console's pages: hash route, what shows that it has loaded, the screenshot's name. */
  const pages = (): Array<[string, string, string]> => [
    ["#/service-accounts", `tbody tr:has-text("${LONG_ACCOUNT}")`, "service-accounts"],
    [`#/service-accounts/${accountId}`, `tbody tr:has-text("${LONG_TOKEN}")`, "tokens"],
    ["#/role-bindings", `tbody tr:has-text("${LONG_PROJECT}")`, "role-bindings"],
    ["#/projects", `tbody tr:has-text("${LONG_PROJECT}")`, "projects"],
    ["#/audit", "tbody tr >> nth=5", "audit"],
    [`#/connect/${projectId}`, "#connect-form", "connect"],
    ["#/service-accounts/00000000-0000-0000-0000-000000000000", ".not-found", "not-found"],
  ];

  /** The pages that list something, each with its Refresh button. */
  const LISTS = new Set(["service-accounts", "tokens", "role-bindings", "projects", "audit"]);

  const check = async (page: Page, name: string, viewport: ViewportName) => {
    // Ids stay on one line: cut, or on a line of their own, never broken over several.
    const brokenIds = await page.evaluate(() =>
      [...document.querySelectorAll("tbody code")]
        .filter(
          (e) => e.getBoundingClientRect().height >= 2 * Number.parseFloat(getComputedStyle(e).fontSize),
        )
        .map((e) => e.textContent),
    );
    expect(brokenIds, `${name} at ${viewport}`).toEqual([]);
    if (LISTS.has(name)) {
      expect(await page.getByRole("button", { name: "Refresh", exact: true }).count(), name).toBe(1);
    }
    if (viewport === "phone") {
      // Every row's actions on screen, and a top bar of one line.
      const offScreen = await page.evaluate((width) => {
        return [...document.querySelectorAll("tbody button, tbody a")]
          .filter((e) => e.getBoundingClientRect().left < 0 || e.getBoundingClientRect().right > width)
          .map((e) => e.getAttribute("aria-label") ?? e.textContent);
      }, VIEWPORTS.phone.width);
      expect(offScreen, name).toEqual([]);
      if ((await page.locator(".topbar").count()) > 0) {
        const bar = await page.locator(".topbar").boundingBox();
        expect(bar?.height, name).toBeLessThanOrEqual(56);
      }
    }
    const width = await overflow(page);
    expect(width, `${name} at ${viewport}: ${width.culprits.join("; ")}`).toEqual({
      excess: 0,
      culprits: [],
    });
    expect(await seriousViolations(page), `${name} at ${viewport}`).toEqual([]);
    await screenshot(page, `${name}-${viewport}`);
  };

  it.each(Object.keys(VIEWPORTS) as ViewportName[])(
    "every page fits and passes axe-core on %s",
    async (viewport) => {
      const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
      const page = await context.newPage();
      try {
        await page.goto(gateway.consoleUrl);
        await page.locator("#token").waitFor();
        await check(page, "sign-in", viewport);
        await signIn(page, boot.ownerToken);
        for (const [hash, loaded, name] of pages()) {
          await page.evaluate((h) => {
            location.hash = h;
          }, hash);
          await page.locator(loaded).first().waitFor();
          await check(page, name, viewport);
        }

        // The long name is cut, and whole once its row has focus.
        await page.evaluate(() => {
          location.hash = "#/service-accounts";
        });
        const name = page.locator("tbody tr", { hasText: LONG_ACCOUNT }).locator(".name").first();
        await name.waitFor();
        const cut = await name.evaluate((e) => e.scrollWidth > e.clientWidth);
        expect(cut).toBe(true);
        await page.getByRole("button", { name: `Delete service account ${LONG_ACCOUNT}` }).focus();
        expect(await name.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(false);
        expect(await name.getAttribute("title")).toBe(LONG_ACCOUNT);

        // The deletion dialog and a new token's panel, with the long names.
        await page.getByRole("button", { name: `Delete service account ${LONG_ACCOUNT}` }).click();
        await page.locator("dialog.confirm").waitFor();
        await check(page, "confirm-delete", viewport);
        await page.getByRole("button", { name: "Cancel" }).click();
        await page.evaluate((h) => {
          location.hash = h;
        }, `#/service-accounts/${accountId}`);
        await page.fill("#token-name", `${viewport}-${"n".repeat(100)}`);
        await page.getByRole("button", { name: "Create token" }).click();
        await page.locator("#new-token").waitFor();
        await check(page, "token-created", viewport);
      } finally {
        await context.close();
      }
    },
  );
});
