import type { BenchContext } from "../harness/context.js";
import { benchScript } from "../harness/processes.js";
import { profileOf } from "../harness/profiles.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { startBenchServer } from "../harness/servers.js";
import { median, medianDifference, medianRatio } from "../harness/side-by-side.js";
import { bootstrappedAgent, pushSideBySide } from "./throughput.js";

/**
 * Auth overhead: `profgate serve` itself (`bench-gateway`: the same composition, edge, handlers and
 * durable local sink) deciding each call against its IAM, against the same gateway whose agent
 * edge trusts every call as the agent token's without asking, under 64
 * back-to-back WriteArrow callers of 64 KiB with a warm principal cache.
 */
export async function authOverhead(ctx: BenchContext): Promise<ScenarioResult> {
  const script = benchScript("servers/bench-gateway.js");
  const [withAuth, withoutAuth] = await Promise.all([
    startBenchServer(ctx, "auth-on", script, ["--auth", "on"], { profile: true }),
    startBenchServer(ctx, "auth-off", script, ["--auth", "off"], { profile: true }),
  ]);
  try {
    const loadStartedAt = performance.now();
    const rounds = await pushSideBySide(
      ctx,
      { server: withoutAuth, ...(await bootstrappedAgent(withoutAuth.dataDir)) },
      { server: withAuth, ...(await bootstrappedAgent(withAuth.dataDir)) },
    );
    await Promise.all([withAuth.stop(), withoutAuth.stop()]);
    const ratio = medianRatio(rounds, (m) => m.okPerSecond);
    const addedP99 = medianDifference(rounds, (m) => m.p99Ms);
    const cpuRatio = medianRatio(rounds, (m) => m.serverCpuUsPerCall);
    const addedCpu = medianDifference(rounds, (m) => m.serverCpuUsPerCall);
    return {
      name: "auth-overhead",
      scenario: `auth overhead: WriteArrow 64 KiB, ${ctx.callers} concurrent callers, warm cache`,
      baseline: `same gateway without the IAM decision: ${fmt.rate(median(rounds.baseline.map((m) => m.okPerSecond)))}, p99 ${fmt.ms(median(rounds.baseline.map((m) => m.p99Ms)))}`,
      measured: `${fmt.rate(median(rounds.measured.map((m) => m.okPerSecond)))}, p99 ${fmt.ms(median(rounds.measured.map((m) => m.p99Ms)))}`,
      outcome: `throughput ratio ${fmt.ratio(ratio)}; added p99 ${fmt.ms(addedP99)}; server CPU per call ${fmt.deltaUs(addedCpu)} (x${fmt.ratio(cpuRatio)})`,
      target: "ratio >= 0.95; added p99 <= 0.5 ms",
      pass: ratio >= 0.95 && addedP99 <= 0.5,
      numbers: {
        ratio,
        addedP99Ms: addedP99,
        serverCpuRatio: cpuRatio,
        addedServerCpuUsPerCall: addedCpu,
        rounds,
        profiles: {
          withAuth: await profileOf(ctx, "auth-on", loadStartedAt - withAuth.spawnedAt),
          withoutAuth: await profileOf(ctx, "auth-off", loadStartedAt - withoutAuth.spawnedAt),
        },
      },
    };
  } finally {
    await Promise.all([withAuth.stop(), withoutAuth.stop()]);
  }
}
