import { setTimeout as sleep } from "node:timers/promises";
import { CallStats, type StatsSnapshot } from "./call-stats.js";
import { JunkTokens } from "./junk-tokens.js";
import { type Mix, pick } from "./mix.js";
import { MAX_DISTINCT_PAYLOAD_SETS, PayloadPool } from "./payload-pool.js";
import { SimulatedAgent, type SimulatedAgentOptions } from "./simulated-agent.js";

/** Who the fleet is and what it sends. */
export interface FleetSetup {
  agents: SimulatedAgentOptions[];
  mix: Mix;
  /** This fraction of calls are WriteArrow calls with an unknown, well-formed token. */
  junkRatio?: number;
  /** Junk tokens to draw from; 0 (default): a fresh one for every junk call. */
  junkDistinct?: number;
  random?: () => number;
}

/** How long and how hard one run of the fleet pushes. */
export interface FleetRun {
  durationMs: number;
  /** Calls made before the measurement starts (connections, JIT) are left out of the result. */
  warmupMs?: number;
  /**
   * Closed loop: each agent calls once per interval (+-20% jitter), like parca-agent; 0: each
   * agent calls again as soon as its previous call ended (N agents, N concurrent callers).
   */
  intervalMs?: number;
  /** Open loop: this many calls per second across the fleet, whatever the latency. */
  rate?: number;
  /** Open loop: calls beyond this many in flight are skipped and counted. */
  maxInFlight?: number;
  reportEveryMs?: number;
  onReport?: (interval: StatsSnapshot) => void;
  /** Told when the measured window starts (after the warm-up) and when it ends. */
  onMeasuring?: (phase: "started" | "ended") => void;
}

export type FleetOptions = FleetSetup & FleetRun;

export interface FleetResult extends StatsSnapshot {
  agents: number;
  /** Open-loop calls not sent because too many were in flight. */
  skipped: number;
  /** CPU seconds (user + system) the load generator itself used while measuring. */
  clientCpuSeconds: number;
  /** The junk calls, apart from the agents' own (which the fields above count). */
  junk?: StatsSnapshot & { distinctTokens: number };
}

/**
 * A simulated fleet whose agents keep their connections between runs, so that runs against
 * different targets can alternate in one process. Payloads are encoded when the fleet is made,
 * before any clock starts.
 */
export class Fleet {
  private readonly agents: SimulatedAgent[];
  private readonly random: () => number;

  constructor(private readonly setup: FleetSetup) {
    this.random = setup.random ?? Math.random;
    const pool = new PayloadPool(setup.agents.length, setup.agents[0]?.payloadBytes ?? 65536);
    this.agents = setup.agents.map((a, i) => new SimulatedAgent({ ...a, payloads: pool.forAgent(i) }));
    const kinds = new Set(setup.mix.weights.filter(([, w]) => w > 0).map(([kind]) => kind));
    if ((setup.junkRatio ?? 0) > 0) kinds.add("writearrow");
    for (let i = 0; i < Math.min(this.agents.length, MAX_DISTINCT_PAYLOAD_SETS); i++) {
      const payloads = pool.forAgent(i);
      if (kinds.has("writearrow")) payloads.writeArrow(0);
      if (kinds.has("write")) payloads.write(0);
      if (kinds.has("writeraw")) payloads.writeRaw(0);
    }
  }

  /**
   * Pushes for `warmupMs + durationMs` and returns what was measured after the warm-up. Calls
   * still in flight at the end are awaited and counted.
   */
  async run(run: FleetRun): Promise<FleetResult> {
    const { agents, random, setup } = this;
    const junkRatio = setup.junkRatio ?? 0;
    const junkTokens = junkRatio > 0 ? new JunkTokens(setup.junkDistinct ?? 0, random) : undefined;
    let stats = new CallStats();
    let junkStats = new CallStats();
    const warmupMs = run.warmupMs ?? 0;
    const endsAt = performance.now() + warmupMs + run.durationMs;
    let cpuAtStart = process.cpuUsage();
    const inFlight = new Set<Promise<void>>();
    let skipped = 0;
    const launch = (agent: SimulatedAgent) => {
      const junk = junkTokens !== undefined && random() < junkRatio;
      const call = (
        junk
          ? agent.call("writearrow", junkStats, junkTokens.next())
          : agent.call(pick(setup.mix, random()), stats)
      ).finally(() => inFlight.delete(call));
      inFlight.add(call);
      return call;
    };
    // Without a warm-up every call counts, the first ones (launched right below) included.
    const measuring =
      warmupMs > 0
        ? setTimeout(() => {
            stats = new CallStats();
            junkStats = new CallStats();
            cpuAtStart = process.cpuUsage();
            run.onMeasuring?.("started");
          }, warmupMs)
        : undefined;
    if (warmupMs <= 0) run.onMeasuring?.("started");
    const ending = setTimeout(() => run.onMeasuring?.("ended"), warmupMs + run.durationMs);
    const reporter =
      run.onReport && run.reportEveryMs
        ? setInterval(() => run.onReport?.(stats.interval()), run.reportEveryMs)
        : undefined;
    try {
      if (run.rate !== undefined) {
        const started = performance.now();
        let issued = 0;
        const max = run.maxInFlight ?? 10_000;
        while (performance.now() < endsAt) {
          const due = Math.floor(((performance.now() - started) / 1000) * run.rate);
          for (; issued < due; issued++) {
            if (inFlight.size >= max) skipped++;
            else void launch(agents[issued % agents.length]!);
          }
          await sleep(Math.max(1, Math.min(20, 1000 / run.rate)));
        }
      } else {
        const interval = run.intervalMs ?? 5000;
        await Promise.all(
          agents.map(async (agent) => {
            if (interval === 0) {
              while (performance.now() < endsAt) await launch(agent);
              return;
            }
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
      clearTimeout(measuring);
      clearTimeout(ending);
      clearInterval(reporter);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    return {
      ...stats.summary(),
      agents: agents.length,
      skipped,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      ...(junkTokens ? { junk: { ...junkStats.summary(), distinctTokens: junkTokens.distinctUsed } } : {}),
    };
  }

  close(): void {
    for (const agent of this.agents) agent.close();
  }
}

/** Makes a fleet, runs it once (see {@link Fleet.run}) and closes it. */
export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const fleet = new Fleet(options);
  try {
    return await fleet.run(options);
  } finally {
    fleet.close();
  }
}
