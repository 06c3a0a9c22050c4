import type { BenchContext } from "../harness/context.js";
import { runJsonProcess } from "../harness/json-process.js";
import { benchScript } from "../harness/processes.js";
import type { BenchRedis } from "../harness/redis.js";
import { fmt, type ScenarioResult } from "../harness/result.js";
import type { DecisionLatency } from "../clients/auth-decision.js";

/**
 * The auth decision in process (a bench process of its own): token and project parsing,
 * principal lookup and authorization, one at a time; warm from the principal cache, cold from
 * Redis on loopback.
 */
export async function authDecision(ctx: BenchContext, redis: BenchRedis): Promise<ScenarioResult> {
  const report = await runJsonProcess<{ tokens: number; warm: DecisionLatency; cold: DecisionLatency }>(
    benchScript("clients/auth-decision.js"),
    [
      "--redis-url",
      redis.url,
      "--tokens",
      ctx.smoke ? "10" : "200",
      "--warm",
      ctx.smoke ? "2000" : "200000",
      "--cold",
      ctx.smoke ? "100" : "5000",
    ],
  );
  const { warm, cold } = report;
  const us = (l: DecisionLatency) =>
    `p50 ${fmt.us(l.p50Us)}, p99 ${fmt.us(l.p99Us)}, p99.9 ${fmt.us(l.p999Us)}`;
  return {
    name: "auth-decision",
    scenario: "auth decision, in process (parse, principal, authorize)",
    baseline: "-",
    measured: `${warm.decisions} warm, ${cold.decisions} cold decisions over ${report.tokens} tokens`,
    outcome: `warm ${us(warm)}; cold (Redis) ${us(cold)}`,
    target: "p99 <= 50 µs warm, <= 1 ms cold",
    pass: warm.p99Us <= 50 && cold.p99Us <= 1000,
    numbers: { ...report },
  };
}
