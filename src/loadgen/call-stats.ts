import { build, type Histogram } from "hdr-histogram-js";
import { status } from "@grpc/grpc-js";

/** Everything a load run measured, in a form that can be printed or serialized. */
export interface StatsSnapshot {
  seconds: number;
  calls: number;
  bytes: number;
  callsPerSecond: number;
  bytesPerSecond: number;
  /** Latency percentiles in milliseconds. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** Calls per status code name (OK, UNAVAILABLE, ...). */
  codes: Record<string, number>;
  /** OK calls per method (WriteArrow, Write, WriteRaw, Debuginfo, ReportPanic). */
  okByMethod: Record<string, number>;
}

const newHistogram = (): Histogram =>
  build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

/**
 * Counts calls, bytes and status codes, and records latencies in an HDR histogram (microsecond
 * resolution), both for the whole run and for the interval since the last `interval()`.
 */
export class CallStats {
  private readonly total = {
    histogram: newHistogram(),
    calls: 0,
    bytes: 0,
    codes: new Map<string, number>(),
  };
  private window = { histogram: newHistogram(), calls: 0, bytes: 0, codes: new Map<string, number>() };
  private readonly okByMethod = new Map<string, number>();
  private readonly started = performance.now();
  private windowStarted = performance.now();

  record(method: string, code: number, latencyMs: number, bytes: number): void {
    const name = status[code] ?? String(code);
    const micros = Math.max(1, Math.round(latencyMs * 1000));
    for (const part of [this.total, this.window]) {
      part.histogram.recordValue(micros);
      part.calls++;
      part.bytes += bytes;
      part.codes.set(name, (part.codes.get(name) ?? 0) + 1);
    }
    if (code === status.OK) this.okByMethod.set(method, (this.okByMethod.get(method) ?? 0) + 1);
  }

  /** The interval since the previous call (or the start), then a fresh interval. */
  interval(): StatsSnapshot {
    const snapshot = this.snapshotOf(this.window, this.windowStarted);
    this.window.histogram.destroy();
    this.window = { histogram: newHistogram(), calls: 0, bytes: 0, codes: new Map() };
    this.windowStarted = performance.now();
    return snapshot;
  }

  summary(): StatsSnapshot {
    return this.snapshotOf(this.total, this.started);
  }

  private snapshotOf(part: CallStats["total"], since: number): StatsSnapshot {
    const seconds = Math.max(1e-9, (performance.now() - since) / 1000);
    const ms = (p: number) => (part.calls === 0 ? 0 : part.histogram.getValueAtPercentile(p) / 1000);
    return {
      seconds,
      calls: part.calls,
      bytes: part.bytes,
      callsPerSecond: part.calls / seconds,
      bytesPerSecond: part.bytes / seconds,
      latencyMs: {
        p50: ms(50),
        p90: ms(90),
        p99: ms(99),
        p999: ms(99.9),
        max: part.calls ? part.histogram.maxValue / 1000 : 0,
      },
      codes: Object.fromEntries([...part.codes].sort()),
      okByMethod: Object.fromEntries([...this.okByMethod].sort()),
    };
  }
}

/** One line for people: rate, throughput, latency percentiles and codes. */
export function formatSnapshot(label: string, s: StatsSnapshot): string {
  const codes = Object.entries(s.codes)
    .map(([code, n]) => `${code}=${n}`)
    .join(" ");
  const l = s.latencyMs;
  return (
    `${label} ${s.calls} calls, ${s.callsPerSecond.toFixed(1)} calls/s, ${(s.bytesPerSecond / 1048576).toFixed(2)} MiB/s, ` +
    `latency p50 ${l.p50.toFixed(2)} ms, p90 ${l.p90.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, p99.9 ${l.p999.toFixed(2)} ms; ${codes}`
  );
}
