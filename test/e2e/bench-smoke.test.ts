import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp-dir.js";

const RUN_BENCH = resolve(import.meta.dirname, "../../dist/bench/run-bench.js");

interface Report {
  results: Array<{
    name: string;
    outcome: string;
    error?: string;
    pending?: string;
    numbers: Record<string, unknown>;
  }>;
}

/** Every number in `value`, however deep. */
function numbersIn(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(numbersIn);
}

describe("npm run bench:smoke", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let report: Report;
  let output: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = await tempDir();
    output = await new Promise((done) =>
      execFile(
        process.execPath,
        [RUN_BENCH, "--smoke", "--out", join(dir.path, "smoke.json")],
        { maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      ),
    );
    report = JSON.parse(await readFile(join(dir.path, "smoke.json"), "utf8")) as Report;
  }, 300_000);
  afterAll(async () => {
    await dir?.remove();
  });

  it("runs every scenario end to end, without errors, and prints the table", () => {
    expect(output.code, output.stderr.slice(-4000)).toBe(0);
    expect(report.results.map((r) => r.name)).toEqual([
      "auth-overhead",
      "whole-path",
      "http2-floor",
      "auth-decision",
      "junk-flood",
      "fleet",
      "idle-connections",
      "proxy",
      "revocation",
      "wan-upload",
      "otlp-profiles",
      "jetstream-sink",
    ]);
    for (const r of report.results) expect(r.error, r.name).toBeUndefined();
    expect(output.stdout).toContain(
      "| scenario | baseline | measured | ratio / latencies | target | verdict |",
    );
  });

  it("gives every scenario numbers: finite ratios, latencies and counts", () => {
    for (const r of report.results) {
      if (r.pending) continue;
      const numbers = numbersIn(r.numbers);
      expect(numbers.length, r.name).toBeGreaterThan(0);
      expect(numbers.every(Number.isFinite), `${r.name}: ${JSON.stringify(r.numbers)}`).toBe(true);
    }
    const byName = Object.fromEntries(report.results.map((r) => [r.name, r.numbers]));
    for (const name of ["auth-overhead", "whole-path", "junk-flood", "wan-upload"]) {
      expect(byName[name]!["ratio"], name).toBeGreaterThan(0);
    }
    expect(byName["http2-floor"]!["cpuRatio"]).toBeGreaterThan(0);
    expect((byName["auth-decision"]!["warm"] as { p99Us: number }).p99Us).toBeGreaterThan(0);
    expect((byName["auth-decision"]!["cold"] as { p99Us: number }).p99Us).toBeGreaterThan(0);
    expect(byName["junk-flood"]!["redisGetsPerDistinctJunkToken"]).toBeGreaterThan(0);
    expect(byName["otlp-profiles"]!["cpuRatio"]).toBeGreaterThan(0);
    expect(byName["jetstream-sink"]!["ratio"]).toBeGreaterThan(0);
    expect((byName["fleet"]!["steps"] as unknown[]).length).toBeGreaterThan(0);
    expect(byName["idle-connections"]!["connections"]).toBeGreaterThan(0);
    expect(byName["revocation"]!["revocations"]).toBeGreaterThan(0);
  });
});
