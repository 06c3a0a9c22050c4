import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BenchContext } from "../harness/context.js";
import type { ServerProcess } from "../harness/servers.js";
import type { SideBySideReport } from "../clients/side-by-side.js";
import { runJsonProcess } from "../harness/json-process.js";
import { benchScript } from "../harness/processes.js";

/** The callers of the max-throughput scenarios push 64 KiB WriteArrow payloads back to back. */
export const PAYLOAD_BYTES = 64 * 1024;

/** Where an agent pushes: a listener, a token file and a project. */
export interface PushTarget {
  server: ServerProcess;
  tokenFile: string;
  projectId: string;
  /** Server processes whose CPU to count (default: the target's own). */
  cpuOf?: number[];
}

/** The agent identity a server bootstrapped in its data dir. */
export async function bootstrappedAgent(dataDir: string): Promise<{ tokenFile: string; projectId: string }> {
  const info = JSON.parse(await readFile(join(dataDir, "bootstrap.json"), "utf8")) as { projectId: string };
  return { tokenFile: join(dataDir, "agent.token"), projectId: info.projectId };
}

/** What else a side-by-side run may do: junk on the measured side, Redis GETs per slice, other calls. */
export interface SideBySideExtras {
  /** The measured side's call mix (`loadgen --mix`); default WriteArrow only, as the baseline's. */
  measuredMix?: string;
  measuredJunkRatio?: number;
  junkDistinct?: number;
  redisUrl?: string;
}

/**
 * Baseline and measured side by side with the same load, from one load generator process of
 * the bench (`clients/side-by-side.js`): `ctx.rounds` pairs of `ctx.roundMs` slices, alternating.
 */
export function pushSideBySide(
  ctx: BenchContext,
  baseline: PushTarget,
  measured: PushTarget,
  extras: SideBySideExtras = {},
): Promise<SideBySideReport> {
  const side = (prefix: string, t: PushTarget) => [
    `--${prefix}-target`,
    t.server.target,
    `--${prefix}-token-file`,
    t.tokenFile,
    `--${prefix}-project`,
    t.projectId,
    `--${prefix}-cpu`,
    (t.cpuOf ?? [t.server.pid]).join(","),
  ];
  ctx.log(`side by side: ${ctx.rounds} pairs of ${ctx.roundMs} ms slices, ${ctx.callers} callers each`);
  return runJsonProcess<SideBySideReport>(benchScript("clients/side-by-side.js"), [
    ...side("a", baseline),
    ...side("b", measured),
    "--b-junk-ratio",
    String(extras.measuredJunkRatio ?? 0),
    "--junk-distinct",
    String(extras.junkDistinct ?? 0),
    ...(extras.redisUrl ? ["--redis-url", extras.redisUrl] : []),
    ...(extras.measuredMix ? ["--b-mix", extras.measuredMix] : []),
    "--callers",
    String(ctx.callers),
    "--payload-bytes",
    String(PAYLOAD_BYTES),
    "--pairs",
    String(ctx.rounds),
    "--slice-ms",
    String(ctx.roundMs),
    "--warmup-ms",
    String(ctx.warmupMs),
  ]);
}
