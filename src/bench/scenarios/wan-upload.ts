import { readFile } from "node:fs/promises";
import { AgentClient } from "../../agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../agent-sim/index.js";
import type { BenchContext } from "../harness/context.js";
import { type DelayProxy, startDelayProxy } from "../harness/delay-proxy.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { type GatewayProcess, serveHasFlag, startProfgate } from "../harness/servers.js";
import { median, medianRatio, sideBySide } from "../harness/side-by-side.js";

const MiB = 1024 * 1024;
/** The windows Node's HTTP/2 grants without being told otherwise. */
const NODE_DEFAULT_WINDOWS = ["--http2-stream-window", "65535", "--http2-connection-window", "65535"];

/**
 * WAN upload: one agent connection sends large WriteArrow calls over a 50 ms round trip (a
 * delay proxy, no bandwidth limit), to a gateway with Node's 64 KiB HTTP/2 receive windows
 * against one with profgate's defaults (2 MiB per call, 8 MiB per connection). What bounds such
 * a transfer is how much the gateway lets the agent have in flight per round trip.
 */
export async function wanUpload(ctx: BenchContext): Promise<ScenarioResult> {
  const oneWayMs = ctx.smoke ? 5 : 25;
  const base = {
    name: "wan-upload",
    scenario: `WAN upload: one agent, large WriteArrow over a ${2 * oneWayMs} ms round trip`,
    baseline: "Node's 64 KiB HTTP/2 receive windows",
    target: "throughput ratio >= 10",
  };
  if (!(await serveHasFlag("http2-stream-window"))) {
    return {
      ...base,
      measured: "-",
      outcome: "-",
      pass: null,
      pending: "no --http2-stream-window",
      numbers: {},
    };
  }
  const payloadBytes = ctx.smoke ? MiB / 4 : 4 * MiB;
  const rounds = ctx.smoke ? 1 : Math.max(3, Math.min(ctx.rounds, 5));
  const payload = encodeArrowV2({ payloadBytes });
  const sides: Array<{ gateway: GatewayProcess; proxy: DelayProxy; agent: AgentClient }> = [];
  try {
    for (const [name, flags] of [
      ["wan-node-windows", NODE_DEFAULT_WINDOWS],
      ["wan-profgate-windows", []],
    ] as const) {
      const gateway = await startProfgate(ctx, name, [...flags]);
      const proxy = await startDelayProxy(gateway.target, oneWayMs);
      const token = (await readFile(gateway.agentTokenFile, "utf8")).trim();
      const agent = new AgentClient(proxy.target, { token, projectId: gateway.projectId });
      sides.push({ gateway, proxy, agent });
      // Connected, authenticated and cached before the clock runs.
      await agent.writeArrow(encodeArrowV2());
    }
    const upload = (side: number) => async () => {
      const started = performance.now();
      await sides[side]!.agent.writeArrow(payload);
      const seconds = (performance.now() - started) / 1000;
      return { seconds, mibPerSecond: payload.byteLength / MiB / seconds };
    };
    const result = await sideBySide(rounds, upload(0), upload(1), ctx.log);
    const ratio = medianRatio(result, (r) => r.mibPerSecond);
    const baselineRate = median(result.baseline.map((r) => r.mibPerSecond));
    const measuredRate = median(result.measured.map((r) => r.mibPerSecond));
    return {
      ...base,
      measured: `2 MiB per call, 8 MiB per connection (${(payload.byteLength / MiB).toFixed(1)} MiB calls, ${rounds} rounds)`,
      outcome: `ratio ${fmt.ratio(ratio)}: ${measuredRate.toFixed(1)} MiB/s against ${baselineRate.toFixed(2)} MiB/s`,
      pass: ctx.smoke ? null : ratio >= 10,
      numbers: { ratio, payloadBytes: payload.byteLength, roundTripMs: 2 * oneWayMs, ...result },
    };
  } finally {
    for (const side of sides) {
      side.agent.close();
      await side.proxy.close();
      await side.gateway.stop();
    }
  }
}
