import { setTimeout as sleep } from "node:timers/promises";
import { CallStats, type StatsSnapshot } from "./call-stats.js";
import { type Mix, pick } from "./mix.js";
import { SimulatedAgent, type SimulatedAgentOptions } from "./simulated-agent.js";

export interface FleetOptions {
  agents: SimulatedAgentOptions[];
  mix: Mix;
  durationMs: number;
  /** Closed loop: each agent calls once per interval (+-20% jitter), like parca-agent. */
  intervalMs?: number;
  /** Open loop: this many calls per second across the fleet, whatever the latency. */
  rate?: number;
  /** Open loop: calls beyond this many in flight are skipped and counted. */
  maxInFlight?: number;
  reportEveryMs: number;
  onReport: (interval: StatsSnapshot) => void;
  random?: () => number;
}

export interface FleetResult extends StatsSnapshot {
  agents: number;
  /** Open-loop calls not sent because too many were in flight. */
  skipped: number;
}

/**
 * Runs a simulated fleet for `durationMs` and returns what it measured. Calls still in flight at
 * the end are awaited and counted.
 */
export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const random = options.random ?? Math.random;
  const stats = new CallStats();
  const agents = options.agents.map((a) => new SimulatedAgent(a));
  const endsAt = performance.now() + options.durationMs;
  const inFlight = new Set<Promise<void>>();
  let skipped = 0;
  const launch = (agent: SimulatedAgent) => {
    const call = agent.call(pick(options.mix, random()), stats).finally(() => inFlight.delete(call));
    inFlight.add(call);
    return call;
  };
  const reporter = setInterval(() => options.onReport(stats.interval()), options.reportEveryMs);

  try {
    if (options.rate !== undefined) {
      const started = performance.now();
      let issued = 0;
      const max = options.maxInFlight ?? 10_000;
      while (performance.now() < endsAt) {
        const due = Math.floor(((performance.now() - started) / 1000) * options.rate);
        for (; issued < due; issued++) {
          if (inFlight.size >= max) skipped++;
          else void launch(agents[issued % agents.length]!);
        }
        await sleep(Math.max(1, Math.min(20, 1000 / options.rate)));
      }
    } else {
      const interval = options.intervalMs ?? 5000;
      await Promise.all(
        agents.map(async (agent) => {
          let next = performance.now() + random() * interval;
          while (next < endsAt) {
            await sleep(Math.max(0, next - performance.now()));
            await launch(agent);
            next += interval * (0.8 + 0.4 * random());
          }
        }),
      );
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(reporter);
    for (const agent of agents) agent.close();
  }
  return { ...stats.summary(), agents: agents.length, skipped };
}
