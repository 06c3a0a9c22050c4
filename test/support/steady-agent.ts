import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";

/** One push of the steady agent. */
export interface Push {
  startedAt: number;
  ms: number;
  code: number;
  details: string;
}

/** Latency figures over a set of pushes, in milliseconds. */
export interface LatencyStats {
  count: number;
  failures: number;
  p50: number;
  p99: number;
  max: number;
}

/** The `q` quantile (nearest rank) of `values`. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function latencyStats(pushes: readonly Push[]): LatencyStats {
  const ms = pushes.map((p) => p.ms);
  return {
    count: pushes.length,
    failures: pushes.filter((p) => p.code !== 0).length,
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
    max: Math.max(...ms),
  };
}

/**
 * A well-behaved agent that pushes a small WriteArrow payload every `intervalMs` on a fixed
 * schedule (open loop: a slow answer does not delay the next push, so stalls show up in the
 * latencies instead of hiding), and remembers each push's latency and status.
 */
export class SteadyAgent {
  readonly pushes: Push[] = [];
  private readonly client: AgentClient;
  private readonly payload = encodeArrowV2({ labels: { node: "steady-agent" } });
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    target: string,
    credentials: { token: string; projectId: string },
    private readonly intervalMs = 50,
  ) {
    this.client = new AgentClient(target, credentials);
  }

  start(): void {
    this.timer = setInterval(() => this.push(), this.intervalMs);
  }

  /** Pushes during the next `ms` milliseconds, once all of them have ended. */
  async measure(ms: number): Promise<Push[]> {
    const from = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const to = performance.now();
    await this.settled();
    return this.pushes.filter((p) => p.startedAt >= from && p.startedAt < to);
  }

  /** Waits for the pushes in flight. */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
    this.client.close();
  }

  private push(): void {
    const startedAt = performance.now();
    const done = this.client.writeArrow(this.payload, { deadline: Date.now() + 10_000 }).then(
      () => ({ code: 0, details: "" }),
      (error: { code?: number; details?: string }) => ({
        code: error.code ?? -1,
        details: error.details ?? "",
      }),
    );
    const recorded = done.then(({ code, details }) => {
      this.pushes.push({ startedAt, ms: performance.now() - startedAt, code, details });
      this.inFlight.delete(recorded);
    });
    this.inFlight.add(recorded);
  }
}
