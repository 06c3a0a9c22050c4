import type { BenchContext } from "../harness/context.js";
import { runJsonProcess } from "../harness/json-process.js";
import { benchScript } from "../harness/processes.js";
import type { BenchRedis } from "../harness/redis.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { serveHasFlag, startProfgate } from "../harness/servers.js";

interface RevocationReport {
  revocations: number;
  pushes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  latenciesMs: number[];
}

/**
 * Revocation across two replicas sharing a Redis IAM store: tokens deleted through replica A's
 * admin API, refused by replica B (which had them cached); a client process measures from the
 * delete to B's first refusal.
 */
export async function revocation(ctx: BenchContext, redis: BenchRedis): Promise<ScenarioResult> {
  const count = ctx.smoke ? 5 : 100;
  // Every revocation ends in one refused call from the same address: without this, the
  // per-address failed-auth limiter would refuse the next new tokens (RESOURCE_EXHAUSTED).
  const limiterOff = (await serveHasFlag("auth-failure-burst")) ? ["--auth-failure-burst", "0"] : [];
  const flags = [
    "--redis-url",
    redis.url,
    "--redis-key-prefix",
    `bench-revocation-${Date.now()}:`,
    ...limiterOff,
  ];
  const a = await startProfgate(ctx, "replica-a", flags);
  const b = await startProfgate(ctx, "replica-b", flags, { bootstrapFrom: a.dataDir });
  let report: RevocationReport;
  try {
    report = await runJsonProcess<RevocationReport>(benchScript("clients/revocation.js"), [
      "--admin",
      a.adminTarget,
      "--owner-token-file",
      a.ownerTokenFile,
      "--target",
      b.target,
      "--project",
      a.projectId,
      "--count",
      String(count),
    ]);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  return {
    name: "revocation",
    scenario: "revocation across two replicas (token deleted on A, refused by B)",
    baseline: "-",
    measured: `${report.revocations} revocations`,
    outcome: `p50 ${fmt.ms(report.p50Ms)}, p99 ${fmt.ms(report.p99Ms)}, max ${fmt.ms(report.maxMs)}`,
    target: "p99 <= 100 ms",
    pass: report.p99Ms <= 100,
    numbers: { ...report },
  };
}
