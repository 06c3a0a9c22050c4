import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ALERTS_FILE, ALERTS_TEST_FILE, readAlerts } from "../../support/alert-rules.js";

const run = promisify(execFile);

interface RuleTest {
  alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }>;
}

describe("deploy/prometheus alerting rules", () => {
  it("load in promtool", async () => {
    const { stdout } = await run("promtool", ["check", "rules", ALERTS_FILE]);
    expect(stdout).toContain(`SUCCESS: ${readAlerts().length} rules found`);
  });

  it("pass their promtool unit tests", async () => {
    const result = await run("promtool", ["test", "rules", ALERTS_TEST_FILE]).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
  });

  it("each have a test where they fire and one where they stay quiet", () => {
    const tests = (parse(readFileSync(ALERTS_TEST_FILE, "utf8")) as { tests: RuleTest[] }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of readAlerts()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} never fires in alerts.test.yaml`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is never shown quiet in alerts.test.yaml`,
      ).toBe(true);
    }
  });

  it("each say how bad it is and what to check", () => {
    for (const rule of readAlerts()) {
      expect(["critical", "warning"], rule.alert).toContain(rule.labels?.["severity"]);
      expect(rule.annotations?.["summary"], rule.alert).toBeTruthy();
      expect(rule.annotations?.["description"]?.length ?? 0, rule.alert).toBeGreaterThan(80);
    }
    const names = readAlerts().map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
  });
});
