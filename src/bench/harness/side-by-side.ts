import type { LoadgenRun } from "./loadgen.js";

/** What one side of one round measured. */
export interface RoundMeasure {
  /** OK calls per second (the calls the gateway accepted). */
  okPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU per accepted call, microseconds (all watched server processes together). */
  serverCpuUsPerCall: number;
  /** The same, per watched process, in the order they were given. */
  processCpuUsPerCall: number[];
  /** Load generator CPU per call, microseconds. */
  clientCpuUsPerCall: number;
  codes: Record<string, number>;
  /** With a junk flood: the junk calls' codes, rate and distinct tokens. */
  junkCodes?: Record<string, number>;
  junkPerSecond?: number;
  junkDistinct?: number;
}

export function measureOf(run: LoadgenRun): RoundMeasure {
  const { result } = run;
  const ok = result.codes["OK"] ?? 0;
  const allCalls = result.calls + (result.junk?.calls ?? 0);
  const serverCpu = run.serverCpuSeconds.reduce((a, b) => a + b, 0);
  return {
    okPerSecond: ok / result.seconds,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    serverCpuUsPerCall: allCalls > 0 ? (serverCpu * 1e6) / allCalls : 0,
    processCpuUsPerCall: run.serverCpuSeconds.map((s) => (allCalls > 0 ? (s * 1e6) / allCalls : 0)),
    clientCpuUsPerCall: allCalls > 0 ? (result.clientCpuSeconds * 1e6) / allCalls : 0,
    codes: result.codes,
    ...(result.junk
      ? {
          junkCodes: result.junk.codes,
          junkPerSecond: result.junk.calls / result.junk.seconds,
          junkDistinct: result.junk.distinctTokens,
        }
      : {}),
  };
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value at `p` (0..1) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface SideBySide<T> {
  baseline: T[];
  measured: T[];
}

/**
 * Runs `rounds` rounds, each running the baseline and the measured side once, alternating which
 * goes first (A B, B A, A B, ...) so that a drift of the machine's speed hits both alike.
 */
export async function sideBySide<T>(
  rounds: number,
  baseline: (round: number) => Promise<T>,
  measured: (round: number) => Promise<T>,
  log: (message: string) => void = () => {},
): Promise<SideBySide<T>> {
  const out: SideBySide<T> = { baseline: [], measured: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (["baseline", "measured"] as const) : (["measured", "baseline"] as const);
    for (const side of order) {
      const value = await (side === "baseline" ? baseline(round) : measured(round));
      out[side].push(value);
      log(`round ${round + 1}/${rounds} ${side}: ${JSON.stringify(value)}`);
    }
  }
  return out;
}

/** The median over rounds of measured/baseline of one field. */
export function medianRatio<T>(result: SideBySide<T>, field: (value: T) => number): number {
  return median(result.measured.map((m, i) => field(m) / field(result.baseline[i]!)));
}

/** The median over rounds of measured - baseline of one field. */
export function medianDifference<T>(result: SideBySide<T>, field: (value: T) => number): number {
  return median(result.measured.map((m, i) => field(m) - field(result.baseline[i]!)));
}
