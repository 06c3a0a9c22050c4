import {
  type Column,
  dictionaryColumn,
  int64Column,
  reeDictionaryColumn,
  reeInt64Column,
  streamOf,
} from "./agent-columns.js";
import { encodeIpcStream } from "./encode-ipc-stream.js";

/** What one simulated Write sample record contains. */
export interface SampleRecordOptions {
  /** Labels shared by every sample, written as `labels.<name>` columns (sorted by name, like the agent). */
  labels: Record<string, string>;
  /** Stacktrace IDs (16 bytes each in real traffic); row `i` references `stacktraceIds[i % length]`. */
  stacktraceIds: Uint8Array[];
  /** Number of samples; defaults to `stacktraceIds.length`. */
  rows?: number;
  /** The agent run-end encodes the dictionary column; `dictionary` writes the dictionary column bare. */
  stacktraceEncoding?: "dictionary" | "run-end-encoded";
  /** Send the stacktrace dictionary as a first batch of this many values plus a delta batch. */
  deltaDictionaryAfter?: number;
  /** Sample timestamp in Unix nanoseconds; defaults to now. */
  timestampNs?: bigint;
  /** Schema metadata; defaults to `parca_write_schema_version=v1`. */
  metadata?: Record<string, string>;
}

const utf8 = new TextEncoder();
// What the agent writes for on-CPU samples at its default 19 Hz.
const CPU_SAMPLE = {
  producer: "parca_agent",
  sample_type: "samples",
  sample_unit: "count",
  period_type: "cpu",
  period_unit: "nanoseconds",
  temporality: "delta",
};
const PERIOD_NS = 1_000_000_000n / 19n;
const DURATION_NS = 1_000_000_000n;

/**
 * Encodes a Write sample record the way parca-agent does: an Arrow IPC stream tagged
 * `parca_write_schema_version=v1` whose string columns (labels, producer, sample type...) are
 * `RunEndEncoded<int32, Dictionary<uint32, Binary>>`, `stacktrace_id` likewise (or a bare dictionary),
 * `value` a plain int64, `period`/`duration`/`timestamp` run-end-encoded int64. Dictionary ids are
 * assigned in column order and every dictionary batch precedes the single record batch.
 */
export function encodeSampleRecord(options: SampleRecordOptions): Uint8Array {
  const rows = options.rows ?? options.stacktraceIds.length;
  if (rows > 0 && options.stacktraceIds.length === 0)
    throw new Error("Samples need at least one stacktrace ID.");
  const ids = Array.from(
    { length: rows },
    (_, i) => options.stacktraceIds[i % options.stacktraceIds.length]!,
  );
  const timestamp = options.timestampNs ?? BigInt(Date.now()) * 1_000_000n;
  let dictionaryId = 0;
  const constant = (value: string) => {
    const bytes = utf8.encode(value);
    return Array.from({ length: rows }, () => bytes);
  };
  const columns: Column[] = Object.keys(options.labels)
    .sort()
    .map((name) => reeDictionaryColumn(`labels.${name}`, dictionaryId++, constant(options.labels[name]!)));
  const stacktraceColumn =
    options.stacktraceEncoding === "dictionary" ? dictionaryColumn : reeDictionaryColumn;
  columns.push(stacktraceColumn("stacktrace_id", dictionaryId++, ids, options.deltaDictionaryAfter));
  const repeat = (value: bigint) => Array.from({ length: rows }, () => value);
  columns.push(int64Column("value", repeat(1n)));
  for (const [name, value] of Object.entries(CPU_SAMPLE)) {
    columns.push(reeDictionaryColumn(name, dictionaryId++, constant(value)));
  }
  columns.push(reeInt64Column("period", repeat(PERIOD_NS)));
  columns.push(reeInt64Column("duration", repeat(DURATION_NS)));
  columns.push(reeInt64Column("timestamp", repeat(timestamp)));
  return encodeIpcStream(streamOf(columns, rows, options.metadata ?? { parca_write_schema_version: "v1" }));
}
