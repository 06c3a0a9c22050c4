import type { BenchContext } from "../harness/context.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { startProfgate } from "../harness/servers.js";
import { median, medianRatio } from "../harness/side-by-side.js";
import { pushSideBySide } from "./throughput.js";

/**
 * OTLP profiles over gRPC against WriteArrow of the same size, into the same `profgate serve`
 * (one gateway, both sides' slices alternating): what the OTLP path costs per call next to the
 * Arrow path (an envelope check instead of an Arrow schema read, the same edge and sink).
 */
export async function otlpProfiles(ctx: BenchContext): Promise<ScenarioResult> {
  const gateway = await startProfgate(ctx, "gateway-otlp");
  try {
    const agent = { server: gateway, tokenFile: gateway.agentTokenFile, projectId: gateway.projectId };
    const rounds = await pushSideBySide(ctx, agent, agent, { measuredMix: "otlpprofiles=100" });
    const cpu = (side: "baseline" | "measured") => median(rounds[side].map((m) => m.serverCpuUsPerCall));
    const ratio = medianRatio(rounds, (m) => m.serverCpuUsPerCall);
    return {
      name: "otlp-profiles",
      scenario: `OTLP profiles Export over gRPC vs WriteArrow, 64 KiB each, ${ctx.callers} callers, one gateway`,
      baseline: `WriteArrow: ${fmt.rate(median(rounds.baseline.map((m) => m.okPerSecond)))}, server CPU per call ${fmt.us(cpu("baseline"))}`,
      measured: `ProfilesService/Export: ${fmt.rate(median(rounds.measured.map((m) => m.okPerSecond)))}, server CPU per call ${fmt.us(cpu("measured"))}`,
      outcome: `server CPU per call x${fmt.ratio(ratio)}; throughput ratio ${fmt.ratio(medianRatio(rounds, (m) => m.okPerSecond))}`,
      target: "none: recorded",
      pass: null,
      numbers: { cpuRatio: ratio, rounds },
    };
  } finally {
    await gateway.stop();
  }
}
