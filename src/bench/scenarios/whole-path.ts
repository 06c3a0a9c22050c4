import type { BenchContext } from "../harness/context.js";
import { benchScript } from "../harness/processes.js";
import { profileOf } from "../harness/profiles.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { startBenchServer, startProfgate } from "../harness/servers.js";
import { median, medianRatio } from "../harness/side-by-side.js";
import { pushSideBySide } from "./throughput.js";

/**
 * The whole path: `profgate serve` as shipped (auth, metrics, one log line per call to a file,
 * the durable local sink with fsync) against a bare grpc-js server that discards the payloads,
 * under the same 64 back-to-back WriteArrow callers of 64 KiB.
 */
export async function wholePath(ctx: BenchContext): Promise<ScenarioResult> {
  const [gateway, bare] = await Promise.all([
    startProfgate(ctx, "gateway", [], { profile: true }),
    startBenchServer(ctx, "bare", benchScript("servers/bare-server.js"), [], { profile: true }),
  ]);
  try {
    const agent = { tokenFile: gateway.agentTokenFile, projectId: gateway.projectId };
    const loadStartedAt = performance.now();
    const rounds = await pushSideBySide(ctx, { server: bare, ...agent }, { server: gateway, ...agent });
    await Promise.all([gateway.stop(), bare.stop()]);
    const ratio = medianRatio(rounds, (m) => m.okPerSecond);
    const cpuRatio = medianRatio(rounds, (m) => m.serverCpuUsPerCall);
    const baseline = median(rounds.baseline.map((m) => m.okPerSecond));
    const measured = median(rounds.measured.map((m) => m.okPerSecond));
    return {
      name: "whole-path",
      scenario: `whole path: auth, metrics, logs, durable local sink (${ctx.callers} callers, 64 KiB WriteArrow)`,
      baseline: `bare grpc-js server discarding payloads: ${fmt.rate(baseline)}, p99 ${fmt.ms(median(rounds.baseline.map((m) => m.p99Ms)))}`,
      measured: `${fmt.rate(measured)}, p99 ${fmt.ms(median(rounds.measured.map((m) => m.p99Ms)))}`,
      outcome: `throughput ratio ${fmt.ratio(ratio)}; server CPU per call ${fmt.us(median(rounds.measured.map((m) => m.serverCpuUsPerCall)))} vs ${fmt.us(median(rounds.baseline.map((m) => m.serverCpuUsPerCall)))} (x${fmt.ratio(cpuRatio)}); load generator CPU per call ${fmt.us(median(rounds.baseline.map((m) => m.clientCpuUsPerCall)))}`,
      target: "ratio >= 0.75; CPU per call <= 1.6x bare",
      pass: ratio >= 0.75 && cpuRatio <= 1.6,
      numbers: {
        ratio,
        cpuRatio,
        rounds,
        profiles: {
          gateway: await profileOf(ctx, "gateway", loadStartedAt - gateway.spawnedAt),
          bare: await profileOf(ctx, "bare", loadStartedAt - bare.spawnedAt),
        },
      },
    };
  } finally {
    await Promise.all([gateway.stop(), bare.stop()]);
  }
}
