import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { BenchContext } from "../harness/context.js";
import { profileOf } from "../harness/profiles.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { serveHasFlag, startProfgate } from "../harness/servers.js";
import { median, medianRatio } from "../harness/side-by-side.js";
import { pushSideBySide } from "./throughput.js";

/** `grpc_server_handled_total` of WriteArrow calls answered OK, from a gateway's /metrics. */
async function acceptedWriteArrows(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("grpc_server_handled_total{") &&
      line.includes('grpc_method="WriteArrow"') &&
      line.includes('grpc_code="OK"')
    ) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/** Bytes in a gateway's local sink (0 when it stored nothing locally). */
async function sinkBytes(dataDir: string): Promise<number> {
  let bytes = 0;
  const sink = join(dataDir, "sink");
  for (const project of await readdir(sink).catch(() => [])) {
    for (const file of await readdir(join(sink, project)).catch(() => [])) {
      bytes += (await stat(join(sink, project, file))).size;
    }
  }
  return bytes;
}

/**
 * Proxy: agent -> edge (`profgate serve --upstream-address`, its own IAM) -> core (`profgate
 * serve`, local sink), against agent -> core, under the same 64 back-to-back WriteArrow callers.
 * The edge forwards with the core's agent token, pinned to the core's project. Server CPU counts
 * both processes on the proxied side.
 */
export async function proxy(ctx: BenchContext): Promise<ScenarioResult> {
  const base = {
    name: "proxy",
    scenario: `proxy: agent -> edge -> core (${ctx.callers} callers, 64 KiB WriteArrow)`,
    target: "ratio >= 0.75; edge CPU per forwarded call <= core's per call",
  };
  if (!(await serveHasFlag("upstream-address"))) {
    return {
      ...base,
      baseline: "agent -> core",
      measured: "-",
      outcome: "-",
      pass: null,
      pending: "profgate serve has no --upstream-address yet",
      numbers: {},
    };
  }
  const core = await startProfgate(ctx, "core", [], { profile: true });
  let edge: Awaited<ReturnType<typeof startProfgate>> | undefined;
  try {
    edge = await startProfgate(
      ctx,
      "edge",
      [
        "--upstream-address",
        core.target,
        "--upstream-insecure",
        "--upstream-bearer-token-file",
        core.agentTokenFile,
        "--upstream-grpc-headers",
        `projectID=${core.projectId}`,
      ],
      { profile: true },
    );
    const loadStartedAt = performance.now();
    const rounds = await pushSideBySide(
      ctx,
      { server: core, tokenFile: core.agentTokenFile, projectId: core.projectId },
      {
        server: edge,
        tokenFile: edge.agentTokenFile,
        projectId: edge.projectId,
        cpuOf: [edge.pid, core.pid],
      },
    );
    const coreAccepted = await acceptedWriteArrows(core.httpUrl);
    const edgeAccepted = await acceptedWriteArrows(edge.httpUrl);
    const edgeStored = await sinkBytes(edge.dataDir);
    // Forwarding: the edge accepted calls, stored none of them itself, and the core got them.
    const forwarded = edgeAccepted > 0 && edgeStored === 0 && coreAccepted >= edgeAccepted;
    const ratio = medianRatio(rounds, (m) => m.okPerSecond);
    // What each process spends per forwarded call, against the core's own cost per direct call.
    const edgeUs = median(rounds.measured.map((m) => m.processCpuUsPerCall[0] ?? Number.NaN));
    const coreBehindUs = median(rounds.measured.map((m) => m.processCpuUsPerCall[1] ?? Number.NaN));
    const coreUs = median(rounds.baseline.map((m) => m.serverCpuUsPerCall));
    await Promise.all([edge.stop(), core.stop()]);
    const profiles = {
      edge: await profileOf(ctx, "edge", loadStartedAt - edge.spawnedAt),
      core: await profileOf(ctx, "core", loadStartedAt - core.spawnedAt),
    };
    return {
      ...base,
      baseline: `agent -> core: ${fmt.rate(median(rounds.baseline.map((m) => m.okPerSecond)))}, p99 ${fmt.ms(median(rounds.baseline.map((m) => m.p99Ms)))}`,
      measured: `${fmt.rate(median(rounds.measured.map((m) => m.okPerSecond)))}, p99 ${fmt.ms(median(rounds.measured.map((m) => m.p99Ms)))}`,
      outcome: `throughput ratio ${fmt.ratio(ratio)}; CPU per forwarded call: edge ${fmt.us(edgeUs)}, core behind it ${fmt.us(coreBehindUs)}; core alone per call ${fmt.us(coreUs)} (edge/core x${fmt.ratio(edgeUs / coreUs)})`,
      pass: forwarded ? ratio >= 0.75 && edgeUs <= coreUs : null,
      ...(forwarded
        ? {}
        : {
            pending: `the edge did not forward (edge accepted ${edgeAccepted}, stored ${edgeStored} bytes itself)`,
          }),
      numbers: {
        ratio,
        edgeUs,
        coreBehindUs,
        coreUs,
        edgeAccepted,
        coreAccepted,
        edgeStored,
        rounds,
        profiles,
      },
    };
  } finally {
    await Promise.all([edge?.stop(), core.stop()]);
  }
}
