import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BenchContext } from "../harness/context.js";
import { benchScript } from "../harness/processes.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { startBenchServer } from "../harness/servers.js";
import { median, medianRatio } from "../harness/side-by-side.js";
import { pushSideBySide } from "./throughput.js";

/**
 * What grpc-js itself costs per call: the whole path's bare grpc-js server against Node's HTTP/2
 * server answering the same unary calls without grpc-js, under the same 64 back-to-back WriteArrow
 * callers of 64 KiB. Neither checks the token or keeps the payload. The difference is the part of
 * every gateway's cost on grpc-js that no change inside the gateway removes.
 */
export async function http2Floor(ctx: BenchContext): Promise<ScenarioResult> {
  const [raw, bare] = await Promise.all([
    startBenchServer(ctx, "raw-h2", benchScript("servers/raw-h2-server.js"), []),
    startBenchServer(ctx, "bare", benchScript("servers/bare-server.js"), []),
  ]);
  try {
    // Neither server reads it; the load generator sends one as agents do.
    const tokenFile = join(ctx.workDir, "unchecked.token");
    await writeFile(tokenFile, `psc_v1_${"0".repeat(64)}\n`, { mode: 0o600 });
    const agent = { tokenFile, projectId: "00000000-0000-4000-8000-000000000000" };
    const rounds = await pushSideBySide(ctx, { server: raw, ...agent }, { server: bare, ...agent });
    const cpu = (side: "baseline" | "measured") => median(rounds[side].map((m) => m.serverCpuUsPerCall));
    const rate = (side: "baseline" | "measured") => median(rounds[side].map((m) => m.okPerSecond));
    const cpuRatio = medianRatio(rounds, (m) => m.serverCpuUsPerCall);
    return {
      name: "http2-floor",
      scenario: `grpc-js's own cost: a bare grpc-js server vs Node's HTTP/2 alone (${ctx.callers} callers, 64 KiB WriteArrow)`,
      baseline: `node:http2 answering unary gRPC, no grpc-js: ${fmt.rate(rate("baseline"))}, server CPU per call ${fmt.us(cpu("baseline"))}`,
      measured: `bare grpc-js server: ${fmt.rate(rate("measured"))}, server CPU per call ${fmt.us(cpu("measured"))}`,
      outcome: `server CPU per call x${fmt.ratio(cpuRatio)} (grpc-js adds ${fmt.us(cpu("measured") - cpu("baseline"))}); throughput ratio ${fmt.ratio(medianRatio(rounds, (m) => m.okPerSecond))}; load generator CPU per call ${fmt.us(median(rounds.baseline.map((m) => m.clientCpuUsPerCall)))}`,
      target: "none: recorded",
      pass: null,
      numbers: { cpuRatio, rounds },
    };
  } finally {
    await Promise.all([raw.stop(), bare.stop()]);
  }
}
