import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { Fleet } from "../../loadgen/fleet.js";
import { parseMix } from "../../loadgen/mix.js";
import { cpuSeconds } from "../harness/processes.js";
import { measureOf, type RoundMeasure } from "../harness/side-by-side.js";

/** One side's slices, with the Redis GETs each caused when asked to count them. */
export interface SideBySideReport {
  baseline: Array<RoundMeasure & { redisGets?: number }>;
  measured: Array<RoundMeasure & { redisGets?: number }>;
}

const SIDE_FLAGS = ["target", "token-file", "project", "junk-ratio", "cpu", "mix"] as const;

function sideOptions(prefix: "a" | "b") {
  return Object.fromEntries(SIDE_FLAGS.map((flag) => [`${prefix}-${flag}`, { type: "string" as const }]));
}

/**
 * The load generator of the max-throughput scenarios: two fleets of N back-to-back callers
 * (WriteArrow unless a side's `--X-mix` says otherwise), one per side (A: the baseline, B: the measured), each on its own connections, kept
 * open for the whole run. After a warm-up of both, they take turns in short slices (A B, B A,
 * A B, ...): many short interleaved slices from one warm process make a ratio that a shared,
 * noisy machine disturbs much less than a few long runs would. Per slice: accepted calls per
 * second, latency percentiles, the CPU the watched server processes used per call, and
 * optionally Redis GETs. Prints one JSON document.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...sideOptions("a"),
      ...sideOptions("b"),
      callers: { type: "string", default: "64" },
      "payload-bytes": { type: "string", default: "65536" },
      pairs: { type: "string", default: "10" },
      "slice-ms": { type: "string", default: "2500" },
      "warmup-ms": { type: "string", default: "2000" },
      "junk-distinct": { type: "string", default: "0" },
      "redis-url": { type: "string" },
    },
  });
  const v = values as Record<string, string | undefined>;
  const side = (prefix: "a" | "b") => {
    const token = readFileSync(v[`${prefix}-token-file`] ?? "", "utf8").trim();
    const fleet = new Fleet({
      agents: Array.from({ length: Number(values.callers) }, (_, i) => ({
        target: v[`${prefix}-target`] ?? "",
        channel: credentials.createInsecure(),
        channelOptions: {},
        token,
        projectId: v[`${prefix}-project`] ?? "",
        node: `bench-${prefix}-${i}`,
        payloadBytes: Number(values["payload-bytes"]),
        timeoutMs: 60_000,
      })),
      mix: parseMix(v[`${prefix}-mix`] ?? "writearrow=100"),
      junkRatio: Number(v[`${prefix}-junk-ratio`] ?? 0),
      junkDistinct: Number(values["junk-distinct"]),
    });
    const pids = (v[`${prefix}-cpu`] ?? "")
      .split(",")
      .filter((p) => p !== "")
      .map(Number);
    return { fleet, pids };
  };
  const sides = { baseline: side("a"), measured: side("b") };
  const redis = values["redis-url"] ? new Redis(values["redis-url"]) : undefined;
  const gets = async () => {
    if (!redis) return 0;
    return Number(/cmdstat_get:calls=(\d+)/.exec(await redis.info("commandstats"))?.[1] ?? 0);
  };
  const report: SideBySideReport = { baseline: [], measured: [] };
  try {
    for (const s of Object.values(sides))
      await s.fleet.run({ durationMs: Number(values["warmup-ms"]), intervalMs: 0 });
    for (let pair = 0; pair < Number(values.pairs); pair++) {
      const order =
        pair % 2 === 0 ? (["baseline", "measured"] as const) : (["measured", "baseline"] as const);
      for (const name of order) {
        const { fleet, pids } = sides[name];
        const cpuBefore = pids.map(cpuSeconds);
        const getsBefore = await gets();
        const started = performance.now();
        const result = await fleet.run({ durationMs: Number(values["slice-ms"]), intervalMs: 0 });
        const wallSeconds = (performance.now() - started) / 1000;
        const serverCpuSeconds = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!);
        const measure = measureOf({ result, serverCpuSeconds, wallSeconds });
        report[name].push(redis ? { ...measure, redisGets: (await gets()) - getsBefore } : measure);
        process.stderr.write(`pair ${pair + 1} ${name}: ${JSON.stringify(measure)}\n`);
      }
    }
  } finally {
    for (const s of Object.values(sides)) s.fleet.close();
    redis?.disconnect();
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
