import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";

/** Debian's `chromium` package (`.ci/run` installs it when missing). */
export const CHROMIUM = "/usr/bin/chromium";
/** Where the console's browser tests write their screenshots (gitignored). */
export const SCREENSHOTS = resolve(import.meta.dirname, "../../test-artifacts/console");

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

/** Headless Chromium, as the console's browser tests run it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A full-page screenshot under test-artifacts/console/. Every token on the page (the new-token
 * box, tokens filled into the set-up, the sign-in field) is first replaced in the page itself, so
 * no picture holds one: take it after the test has read what it needs.
 */
export async function screenshot(page: Page, name: string): Promise<Buffer> {
  await page.evaluate(() => {
    const pattern = /psc_v1_[0-9a-f]{64}/g;
    const holds = (text: string) => /psc_v1_[0-9a-f]{64}/.test(text);
    const hidden = "psc_v1_…hidden in screenshots…";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (holds(node.nodeValue ?? "")) node.nodeValue = (node.nodeValue ?? "").replace(pattern, hidden);
    }
    for (const input of document.querySelectorAll("input")) {
      if (holds(input.value)) input.value = input.value.replace(pattern, hidden);
    }
  });
  return page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in on the sign-in page with `token` and waits for the console to open. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.fill("#token", token);
  await page.click("button:has-text('Sign in')");
  await page.locator("#org-name").waitFor();
}

const AXE_SOURCE = createRequire(import.meta.url)("axe-core").source as string;

/** One axe-core finding of impact serious or critical, as a line to read in a failed assertion. */
export type AxeFinding = string;

/**
 * Runs axe-core (WCAG 2.x A and AA rules and best practices) in the page and returns its
 * serious and critical violations. The source goes in through the DevTools protocol, which the
 * console's Content-Security-Policy does not apply to.
 */
export async function seriousViolations(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: Document,
            options: unknown,
          ): Promise<{
            violations: Array<{
              id: string;
              impact?: string;
              help: string;
              nodes: Array<{ target: unknown[] }>;
            }>;
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? "",
      help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.slice(0, 3).join(", ")}`);
}

/**
 * How far the page is wider than the viewport (0 when it fits) and, when it is, the outermost
 * elements that stick out (what a scrolling box clips does not count).
 */
export async function overflow(page: Page): Promise<{ excess: number; culprits: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const excess = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - width;
    const clipped = (e: Element) => {
      for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== "visible") return true;
      }
      return false;
    };
    const out = (e: Element) => e.getBoundingClientRect().right > width + 1 && !clipped(e);
    const culprits =
      excess <= 0
        ? []
        : [...document.querySelectorAll("body *")]
            .filter((e) => out(e) && !(e.parentElement && out(e.parentElement)))
            .slice(0, 5)
            .map(
              (e) =>
                `${e.tagName.toLowerCase()}#${e.id}.${e.className} (${Math.round(e.getBoundingClientRect().right)}px)`,
            );
    return { excess, culprits };
  });
}
