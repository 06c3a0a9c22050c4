import type { Counter, Histogram, LabelValues } from "prom-client";

/** One labelled series of a counter, incremented without looking its labels up. */
export interface CounterChild {
  inc(value?: number): void;
}

/** One labelled series of a histogram, observed without looking its labels up. */
export interface HistogramChild {
  observe(value: number): void;
}

/** What prom-client (15.x) keeps per series: the object its exposition reads on each scrape. */
interface CounterEntry {
  labels: object;
  value: number;
}
interface HistogramEntry {
  labels: object;
  sum: number;
  count: number;
  bucketValues: Record<number, number>;
}
interface Internals<Entry> {
  hashMap?: Record<string, Entry>;
  upperBounds?: readonly number[];
}

const sameLabels = (a: object, b: object) => {
  const keys = Object.keys(b);
  return (
    Object.keys(a).length === keys.length &&
    keys.every((k) => String((a as Record<string, unknown>)[k]) === String((b as Record<string, unknown>)[k]))
  );
};

/** The series object prom-client exports for `labels`, when its internals are as expected. */
function entryOf<Entry extends { labels: object }>(
  metric: Internals<Entry>,
  labels: object,
  valid: (entry: Entry) => boolean,
): Entry | undefined {
  const map = metric.hashMap;
  if (typeof map !== "object" || map === null) return undefined;
  const found = Object.values(map).find((entry) => sameLabels(entry.labels, labels));
  return found && valid(found) ? found : undefined;
}

/**
 * The series of `counter` with `labels`, created at 0. prom-client hashes and validates a label
 * set on every `inc`, bound children included; this child holds the series object the
 * exposition reads and adds to it. Where prom-client's internals are not what this expects, it
 * falls back to prom-client's own child.
 */
export function counterChild<L extends string>(counter: Counter<L>, labels: LabelValues<L>): CounterChild {
  counter.inc(labels, 0);
  const entry = entryOf<CounterEntry>(
    counter as unknown as Internals<CounterEntry>,
    labels,
    (e) => typeof e.value === "number",
  );
  if (!entry) return counter.labels(labels);
  return {
    inc(value = 1) {
      if (!(value >= 0) || !Number.isFinite(value))
        throw new TypeError(`Invalid counter increment: ${value}`);
      entry.value += value;
    },
  };
}

/** As {@link counterChild}, for a histogram's series (created with every bucket at 0). */
export function histogramChild<L extends string>(
  histogram: Histogram<L>,
  labels: LabelValues<L>,
): HistogramChild {
  const internals = histogram as unknown as Internals<HistogramEntry>;
  const valid = (e: HistogramEntry) =>
    typeof e.sum === "number" && typeof e.count === "number" && typeof e.bucketValues === "object";
  if (!entryOf(internals, labels, valid)) histogram.zero(labels);
  const entry = entryOf(internals, labels, valid);
  const bounds = internals.upperBounds;
  if (!entry || !Array.isArray(bounds) || !bounds.every((b) => b in entry.bucketValues))
    return histogram.labels(labels);
  return {
    observe(value) {
      if (!Number.isFinite(value)) throw new TypeError(`Invalid histogram value: ${value}`);
      entry.sum += value;
      entry.count += 1;
      for (const bound of bounds) {
        if (value <= bound) {
          entry.bucketValues[bound]! += 1;
          return;
        }
      }
    },
  };
}
