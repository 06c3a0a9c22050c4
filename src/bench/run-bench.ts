import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../config/flag-spec.js";
import type { BenchContext } from "./harness/context.js";
import { DIST } from "./harness/processes.js";
import { type BenchRedis, startRedis } from "./harness/redis.js";
import { formatTable, type ScenarioResult } from "./harness/result.js";
import { authDecision } from "./scenarios/auth-decision.js";
import { authOverhead } from "./scenarios/auth-overhead.js";
import { fleet } from "./scenarios/fleet.js";
import { http2Floor } from "./scenarios/http2-floor.js";
import { idleConnections } from "./scenarios/idle-connections.js";
import { jetstreamSink } from "./scenarios/jetstream-sink.js";
import { junkFlood } from "./scenarios/junk-flood.js";
import { otlpProfiles } from "./scenarios/otlp-profiles.js";
import { proxy } from "./scenarios/proxy.js";
import { revocation } from "./scenarios/revocation.js";
import { wanUpload } from "./scenarios/wan-upload.js";
import { wholePath } from "./scenarios/whole-path.js";

interface Scenario {
  name: string;
  needsRedis: boolean;
  run(ctx: BenchContext, redis: BenchRedis): Promise<ScenarioResult>;
}

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  { name: "auth-overhead", needsRedis: false, run: authOverhead },
  { name: "whole-path", needsRedis: false, run: wholePath },
  { name: "http2-floor", needsRedis: false, run: http2Floor },
  { name: "auth-decision", needsRedis: true, run: authDecision },
  { name: "junk-flood", needsRedis: true, run: junkFlood },
  { name: "fleet", needsRedis: false, run: fleet },
  { name: "idle-connections", needsRedis: false, run: idleConnections },
  { name: "proxy", needsRedis: false, run: proxy },
  { name: "revocation", needsRedis: true, run: revocation },
  { name: "wan-upload", needsRedis: false, run: wanUpload },
  { name: "otlp-profiles", needsRedis: false, run: otlpProfiles },
  { name: "jetstream-sink", needsRedis: false, run: jetstreamSink },
];

const USAGE = `Usage: npm run bench -- [--only NAME[,NAME]] [--smoke] [--duration D] [--rounds N] [--profile] [--out FILE]

Runs each scenario side by side with its baseline (gateways, Redis and the load generator in
processes of their own), prints a table and writes it as JSON.
  --only NAMES    scenarios to run: ${SCENARIOS.map((s) => s.name).join(", ")}
  --smoke         seconds, not minutes: tiny durations and counts; checks that every scenario runs
  --duration D    one side of one round: a slice of the side-by-side scenarios (default 2.5s; smoke 1s)
  --rounds N      side-by-side rounds, each a slice of baseline and one of measured (default 12; smoke 1)
  --profile       run the servers of auth-overhead, whole-path, junk-flood and proxy under
                  node --cpu-prof; profiles and their summaries go to bench-results/profiles/
  --out FILE      the JSON results (default bench-results/latest.json; smoke: bench-results/smoke.json)
`;

async function machine() {
  const { readFile } = await import("node:fs/promises");
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  return {
    cpus: cpus().length,
    model: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    /** The machine is shared: how busy it was with other work is part of the result. */
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      smoke: { type: "boolean", default: false },
      duration: { type: "string" },
      rounds: { type: "string" },
      profile: { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  const selected = SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
  const smoke = values.smoke;
  const resultsDir = resolve(DIST, "..", "bench-results");
  const profileDir = values.profile ? join(resultsDir, "profiles") : undefined;
  await mkdir(profileDir ?? resultsDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), "profgate-bench-"));
  const began = performance.now();
  const ctx: BenchContext = {
    workDir,
    profileDir,
    smoke,
    rounds: values.rounds ? Number(values.rounds) : smoke ? 1 : 12,
    roundMs: values.duration ? parseDuration(values.duration) : smoke ? 1000 : 2500,
    warmupMs: smoke ? 500 : 2000,
    callers: smoke ? 8 : 64,
    log: (message) =>
      process.stderr.write(
        `[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${message}\n`,
      ),
  };
  const results: Array<ScenarioResult & { error?: string; seconds: number; loadAverage?: number[] }> = [];
  let redis: BenchRedis | undefined;
  try {
    for (const scenario of selected) {
      const started = performance.now();
      ctx.log(`scenario ${scenario.name}`);
      // Each scenario's data dirs and logs go when it ends: the gigabytes a scenario writes, and
      // their dirty pages, would otherwise still be in the way of the scenarios after it.
      const scenarioDir = join(workDir, scenario.name);
      try {
        await mkdir(scenarioDir, { recursive: true });
        if (scenario.needsRedis) redis ??= await startRedis(join(workDir, "redis"));
        const result = await scenario.run({ ...ctx, workDir: scenarioDir }, redis as BenchRedis);
        results.push({
          ...result,
          pass: smoke ? null : result.pass,
          seconds: (performance.now() - started) / 1000,
          loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
        });
        ctx.log(`${scenario.name}: ${result.outcome}`);
      } catch (error) {
        ctx.log(`${scenario.name} failed: ${(error as Error).stack ?? String(error)}`);
        results.push({
          name: scenario.name,
          scenario: scenario.name,
          baseline: "-",
          measured: "-",
          outcome: `error: ${(error as Error).message.split("\n")[0]}`,
          target: "-",
          pass: false,
          error: String((error as Error).stack ?? error),
          numbers: {},
          seconds: (performance.now() - started) / 1000,
        });
      } finally {
        await rm(scenarioDir, { recursive: true, force: true });
      }
    }
  } finally {
    await redis?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
  const table = formatTable(results);
  process.stdout.write(`\n${table}\n\n`);
  const out = values.out ? resolve(values.out) : join(resultsDir, smoke ? "smoke.json" : "latest.json");
  const report = {
    machine: await machine(),
    options: {
      smoke,
      rounds: ctx.rounds,
      roundMs: ctx.roundMs,
      warmupMs: ctx.warmupMs,
      profile: values.profile,
    },
    seconds: (performance.now() - began) / 1000,
    table,
    results,
  };
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`wrote ${out} (${report.seconds.toFixed(0)} s)\n`);
  return results.some((r) => r.error !== undefined) ? 1 : 0;
}

process.exitCode = await main();
