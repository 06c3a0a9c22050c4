import type { BenchContext } from "../harness/context.js";
import { profileOf } from "../harness/profiles.js";
import type { BenchRedis } from "../harness/redis.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import { serveHasFlag, startProfgate } from "../harness/servers.js";
import { median, medianRatio } from "../harness/side-by-side.js";
import { pushSideBySide } from "./throughput.js";

/**
 * Junk flood: the same 64 back-to-back callers, once with valid tokens only, once with half of
 * their calls carrying random well-formed tokens (drawn from a pool, so they repeat), against
 * one gateway on a Redis IAM store. Counts Redis GETs (INFO commandstats) per distinct junk
 * token. The per-address failed-auth limiter is switched off when the gateway has one, so that
 * every junk token reaches the principal cache and the store: the worst case for both numbers.
 * Then a few rounds with 97% of the calls junk measure a refused call's CPU nearly on its own.
 */
/** A flood slice's gateway CPU per junk call: its CPU less what its valid calls cost beside it. */
const junkCpu =
  (rounds: Awaited<ReturnType<typeof pushSideBySide>>) =>
  (m: (typeof rounds.measured)[number], i: number) => {
    const valid = rounds.baseline[i]!.serverCpuUsPerCall;
    const okCalls = m.okPerSecond;
    const junkCalls = m.junkPerSecond ?? 0;
    const total = m.serverCpuUsPerCall * (okCalls + junkCalls);
    return junkCalls > 0 ? (total - valid * okCalls) / junkCalls : Number.NaN;
  };

export async function junkFlood(ctx: BenchContext, redis: BenchRedis): Promise<ScenarioResult> {
  const limiterOff = (await serveHasFlag("auth-failure-burst")) ? ["--auth-failure-burst", "0"] : [];
  const gateway = await startProfgate(
    ctx,
    "junk-gateway",
    [
      "--redis-url",
      redis.url,
      "--redis-key-prefix",
      `bench-junk-${Date.now()}:`,
      // The valid token's principal is read once and not again during the run, so that every
      // GET counted is a junk token's lookup; unknown tokens keep the default negative lifetime.
      "--auth-cache-ttl",
      "10m",
      ...limiterOff,
    ],
    { profile: true },
  );
  const distinct = ctx.smoke ? 50 : 2000;
  const target = { server: gateway, tokenFile: gateway.agentTokenFile, projectId: gateway.projectId };
  try {
    const loadStartedAt = performance.now();
    const rounds = await pushSideBySide(ctx, target, target, {
      measuredJunkRatio: 0.5,
      junkDistinct: distinct,
      redisUrl: redis.url,
    });
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const gets = {
      // The valid token's principal and project are re-read when their cache lifetime ends:
      // the GETs of the valid-only slices, of the same total length, are what that costs.
      junkSlices: sum(rounds.measured.map((m) => m.redisGets ?? 0)),
      validSlices: sum(rounds.baseline.map((m) => m.redisGets ?? 0)),
      distinct: sum(rounds.measured.map((m) => m.junkDistinct ?? 0)),
      junkCalls: sum(rounds.measured.map((m) => sum(Object.values(m.junkCodes ?? {})))),
      junkCodes: {} as Record<string, number>,
    };
    for (const m of rounds.measured) {
      for (const [code, n] of Object.entries(m.junkCodes ?? {}))
        gets.junkCodes[code] = (gets.junkCodes[code] ?? 0) + n;
    }
    const junkGets = Math.max(0, gets.junkSlices - gets.validSlices);
    const ratio = medianRatio(rounds, (m) => m.okPerSecond);
    // What a junk call costs the gateway, from the CPU of each flood round less what its valid
    // calls cost in the baseline round beside it.
    const junkCpuUs = median(rounds.measured.map(junkCpu(rounds)));
    const validCpuUs = median(rounds.baseline.map((m) => m.serverCpuUsPerCall));
    // The same, with nearly every call junk: what a refused call costs on its own, without the
    // valid calls' share of each fsync and timer changing beside it.
    ctx.log("junk alone: 97% of the calls junk");
    const alone = await pushSideBySide({ ...ctx, rounds: Math.min(ctx.rounds, 4) }, target, target, {
      measuredJunkRatio: 0.97,
      junkDistinct: distinct,
      redisUrl: redis.url,
    });
    const aloneCpuUs = median(alone.measured.map(junkCpu(alone)));
    const perDistinct = gets.distinct > 0 ? junkGets / gets.distinct : Number.NaN;
    await gateway.stop();
    return {
      name: "junk-flood",
      scenario: `junk flood: half the calls of ${ctx.callers} callers with random well-formed tokens (Redis store)`,
      baseline: `same load, valid tokens only: ${fmt.rate(median(rounds.baseline.map((m) => m.okPerSecond)))} valid`,
      measured: `${fmt.rate(median(rounds.measured.map((m) => m.okPerSecond)))} valid + ${fmt.rate(median(rounds.measured.map((m) => m.junkPerSecond ?? 0)))} junk refused`,
      outcome: `valid-call throughput ratio ${fmt.ratio(ratio)}; Redis GETs per distinct junk token ${perDistinct.toFixed(3)} (${junkGets} GETs, ${gets.distinct} distinct tokens, ${gets.junkCalls} junk calls); gateway CPU per junk call ~${fmt.us(junkCpuUs)} vs ${fmt.us(validCpuUs)} per valid call (${fmt.ratio(junkCpuUs / validCpuUs)}); junk alone ~${fmt.us(aloneCpuUs)} per refused call (${fmt.ratio(aloneCpuUs / validCpuUs)})`,
      target:
        "CPU per junk call (in the flood, and alone) <= 15% of a valid call's; Redis lookups per distinct junk hash <= 1",
      pass: Math.max(junkCpuUs, aloneCpuUs) <= 0.15 * validCpuUs && perDistinct <= 1,
      numbers: {
        ratio,
        redisGetsPerDistinctJunkToken: perDistinct,
        gatewayCpuUsPerJunkCall: junkCpuUs,
        gatewayCpuUsPerJunkCallAlone: aloneCpuUs,
        alone,
        gatewayCpuUsPerValidCall: validCpuUs,
        gets,
        limiterOff: limiterOff.length > 0,
        rounds,
        profile: await profileOf(ctx, "junk-gateway", loadStartedAt - gateway.spawnedAt),
      },
    };
  } finally {
    await gateway.stop();
  }
}
