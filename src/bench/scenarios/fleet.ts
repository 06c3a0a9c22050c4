import type { BenchContext } from "../harness/context.js";
import { asAgentOf, runLoadgen } from "../harness/loadgen.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { startProfgate } from "../harness/servers.js";

const P99_LIMIT_MS = 100;

/**
 * Fleet: agents pushing a 64 KiB WriteArrow every 5 s (+-20% jitter, as parca-agent), each on its
 * own connection, against one `profgate serve`; the fleet grows step by step while p99 stays
 * under 100 ms. The answer is the largest step that held. The load generator sends through its
 * lean HTTP/2 client (`--client h2`): through grpc-js it needs more CPU than the gateway and,
 * sharing the machine's two cores, would be what saturates first.
 */
export async function fleet(ctx: BenchContext): Promise<ScenarioResult> {
  const steps = ctx.smoke ? [40] : [1000, 2500, 5000, 6000, 7500, 10_000];
  const intervalMs = ctx.smoke ? 500 : 5000;
  // At least three cycles measured, after one whole cycle of warm-up (every agent connected).
  const warmupMs = intervalMs;
  const durationMs = Math.max(3 * intervalMs, ctx.roundMs);
  const gateway = await startProfgate(ctx, "fleet-gateway");
  const results: Array<Record<string, number>> = [];
  let served = 0;
  try {
    for (const agents of steps) {
      const run = await runLoadgen(
        [
          // The lean HTTP/2 client: with grpc-js, the load generator itself saturates first.
          "--client",
          "h2",
          ...asAgentOf(gateway),
          "--agents",
          String(agents),
          "--interval",
          `${intervalMs}ms`,
          "--mix",
          "writearrow=100",
          "--payload-bytes",
          "65536",
          "--warmup",
          `${warmupMs}ms`,
          "--duration",
          `${durationMs}ms`,
          "--report-interval",
          "1h",
        ],
        [gateway.pid],
      );
      const r = run.result;
      const step = {
        agents,
        callsPerSecond: r.callsPerSecond,
        ok: r.codes["OK"] ?? 0,
        calls: r.calls,
        p50Ms: r.latencyMs.p50,
        p99Ms: r.latencyMs.p99,
        p999Ms: r.latencyMs.p999,
        gatewayCpuShare: (run.serverCpuSeconds[0] ?? 0) / run.wallSeconds,
        clientCpuShare: r.clientCpuSeconds / r.seconds,
      };
      results.push(step);
      ctx.log(`fleet step: ${JSON.stringify(step)}`);
      const held = step.ok === step.calls && step.p99Ms < P99_LIMIT_MS;
      if (!held) break;
      served = agents;
    }
  } finally {
    await gateway.stop();
  }
  const last = results.find((s) => s["agents"] === served) ?? results[results.length - 1];
  const failed = results.find((s) => s["agents"]! > served && s !== last);
  return {
    name: "fleet",
    scenario: `fleet: agents at the ${intervalMs / 1000} s cadence, 64 KiB WriteArrow, one connection each`,
    baseline: "-",
    measured: `${served} agents held (steps tried: ${results.map((s) => s["agents"]).join(", ")} of ${steps.join(", ")})`,
    outcome:
      (last
        ? `at ${last["agents"]}: ${fmt.rate(last["callsPerSecond"]!)}, p50 ${fmt.ms(last["p50Ms"]!)}, p99 ${fmt.ms(last["p99Ms"]!)}, gateway CPU ${(100 * last["gatewayCpuShare"]!).toFixed(0)}%`
        : "no step ran") +
      (failed
        ? `; at ${failed["agents"]}: p99 ${fmt.ms(failed["p99Ms"]!)}, ${failed["calls"]! - failed["ok"]!} failed calls`
        : ""),
    target: ">= 5,000 agents with p99 < 100 ms",
    pass: served >= 5000,
    numbers: { served, steps: results, intervalMs, warmupMs, durationMs },
  };
}
