import { randomFillSync } from "node:crypto";
import {
  binaryColumn,
  type Column,
  int64Column,
  reeDictionaryColumn,
  reeInt64Column,
  reeUtf8Column,
  streamOf,
} from "./agent-columns.js";
import { encodeIpcStream } from "./encode-ipc-stream.js";

/** What one simulated WriteArrow payload contains. */
export interface ArrowV2Options {
  /** Labels shared by every sample, as `labels.<name>` columns. */
  labels?: Record<string, string>;
  /** Number of samples; defaults to 1. */
  rows?: number;
  /** Pad the stream to about this many bytes (never below its unpadded size). */
  payloadBytes?: number;
  /** Defaults to `lz4-frame`, as real agents send; `none` leaves the buffers bare. */
  compression?: "lz4-frame" | "none";
  /** Sample timestamp in Unix nanoseconds; defaults to now. */
  timestampNs?: bigint;
}

const utf8 = new TextEncoder();

/**
 * Encodes a WriteArrow `ipc_buffer`: an Arrow IPC stream tagged `parca_write_schema_version=v2`
 * (schema, dictionary batches for the labels, one record batch, end-of-stream) with the v2 sample
 * columns (labels, value, producer, sample/period type and unit, temporality, period, duration,
 * timestamp). The v2 `stacktrace` column is a `ListView` of dictionary-encoded location structs in
 * real agents; here it is a plain Binary stand-in of opaque random bytes, which is also what
 * `payloadBytes` grows.
 *
 * Compression: buffers are LZ4-framed like a real agent's (`bodyCompression` = LZ4_FRAME, each
 * buffer prefixed with its uncompressed length), but the frames hold stored blocks, so they are
 * valid and decodable without being any smaller.
 */
export function encodeArrowV2(options: ArrowV2Options = {}): Uint8Array {
  const rows = options.rows ?? 1;
  const unpadded = encode(options, rows, 0);
  const missing = (options.payloadBytes ?? 0) - unpadded.length;
  // Each row's stacktrace blob grows evenly; framing overhead makes the result approximate.
  return missing > 0 && rows > 0 ? encode(options, rows, Math.floor(missing / rows)) : unpadded;
}

function encode(options: ArrowV2Options, rows: number, stacktraceBytes: number): Uint8Array {
  const timestamp = options.timestampNs ?? BigInt(Date.now()) * 1_000_000n;
  const labels = options.labels ?? {};
  const repeat = <T>(value: T) => Array.from({ length: rows }, () => value);
  const columns: Column[] = Object.keys(labels)
    .sort()
    .map((name, id) => reeDictionaryColumn(`labels.${name}`, id, repeat(utf8.encode(labels[name]!))));
  columns.push(
    binaryColumn(
      "stacktrace",
      Array.from({ length: rows }, () => randomFillSync(new Uint8Array(stacktraceBytes))),
    ),
    int64Column("value", repeat(1n)),
    reeUtf8Column("producer", repeat("parca_agent")),
    reeUtf8Column("sample_type", repeat("samples")),
    reeUtf8Column("sample_unit", repeat("count")),
    reeUtf8Column("period_type", repeat("cpu")),
    reeUtf8Column("period_unit", repeat("nanoseconds")),
    reeUtf8Column("temporality", repeat("delta")),
    reeInt64Column("period", repeat(1_000_000_000n / 19n)),
    reeInt64Column("duration", repeat(1_000_000_000n)),
    int64Column("timestamp", repeat(timestamp)),
  );
  const spec = streamOf(columns, rows, { parca_write_schema_version: "v2" });
  return encodeIpcStream(options.compression === "none" ? spec : { ...spec, compression: "lz4-frame" });
}
