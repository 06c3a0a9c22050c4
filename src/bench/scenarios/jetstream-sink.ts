import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { BenchContext } from "../harness/context.js";
import { endNats, launchNatsOnFreePort } from "../harness/nats-process.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { startProfgate } from "../harness/servers.js";
import { median, medianRatio } from "../harness/side-by-side.js";
import { pushSideBySide } from "./throughput.js";

/**
 * The whole path with `--sink jetstream` (one local nats-server, file storage, one replica)
 * against the same gateway with the local sink, under the same back-to-back 64 KiB WriteArrow
 * callers: what publishing to JetStream costs the gateway in CPU per call and in throughput.
 * The server CPU of the JetStream side counts the nats-server process too.
 */
export async function jetstreamSink(ctx: BenchContext): Promise<ScenarioResult> {
  const natsDir = join(ctx.workDir, "nats");
  await mkdir(natsDir, { recursive: true });
  const nats = await launchNatsOnFreePort(natsDir);
  const started = await Promise.all([
    startProfgate(ctx, "local-sink", []),
    startProfgate(ctx, "jetstream-sink", ["--sink", "jetstream", "--nats-servers", nats.url]),
  ]).catch(async (error: unknown) => {
    await endNats(nats.child);
    throw error;
  });
  const [local, jetstream] = started;
  try {
    const rounds = await pushSideBySide(
      ctx,
      { server: local, tokenFile: local.agentTokenFile, projectId: local.projectId },
      {
        server: jetstream,
        tokenFile: jetstream.agentTokenFile,
        projectId: jetstream.projectId,
        cpuOf: [jetstream.pid, nats.pid],
      },
    );
    const ratio = medianRatio(rounds, (m) => m.okPerSecond);
    const baseline = median(rounds.baseline.map((m) => m.okPerSecond));
    const measured = median(rounds.measured.map((m) => m.okPerSecond));
    const cpu = (side: typeof rounds.baseline) => median(side.map((m) => m.serverCpuUsPerCall));
    return {
      name: "jetstream-sink",
      scenario: `whole path with --sink jetstream, one local nats-server (${ctx.callers} callers, 64 KiB WriteArrow)`,
      baseline: `local sink (fsync): ${fmt.rate(baseline)}, p99 ${fmt.ms(median(rounds.baseline.map((m) => m.p99Ms)))}`,
      measured: `${fmt.rate(measured)}, p99 ${fmt.ms(median(rounds.measured.map((m) => m.p99Ms)))}`,
      outcome: `throughput ratio ${fmt.ratio(ratio)}; server CPU per call ${fmt.us(cpu(rounds.measured))} (gateway + nats-server) vs ${fmt.us(cpu(rounds.baseline))}`,
      target: "measured, no target",
      pass: true,
      numbers: {
        ratio,
        cpuUsPerCall: { jetstream: cpu(rounds.measured), local: cpu(rounds.baseline) },
        rounds,
      },
    };
  } finally {
    await Promise.all([local.stop(), jetstream.stop()]);
    await endNats(nats.child);
  }
}
