import {
  type ArrayData,
  binaryArray,
  bytesKey,
  int64Array,
  runEndEncodedArray,
  sameBytes,
  toDictionary,
  toRuns,
  uint32Array,
  utf8Array,
} from "./array-data.js";
import type { IpcStreamSpec } from "./encode-ipc-stream.js";
import { INT32, INT64, UINT32, type TypeSpec } from "./field-spec.js";

/** A column ready for `encodeIpcStream`: its field, its array and the dictionaries it needs. */
export interface Column {
  field: IpcStreamSpec["fields"][number];
  array: ArrayData;
  dictionaries: NonNullable<IpcStreamSpec["dictionaries"]>;
}

const binaryDictionary = (id: number): TypeSpec => ({
  kind: "dictionary",
  id,
  index: UINT32,
  value: { kind: "binary" },
});

/**
 * `RunEndEncoded<int32, Dictionary<uint32, Binary>>`, the agent's type for labels, strings and
 * stacktrace IDs: consecutive equal rows form one run, each run's value is a dictionary index.
 * With `deltaAfter`, dictionary values from that position on go in a second, delta, batch.
 */
export function reeDictionaryColumn(
  name: string,
  id: number,
  rows: Uint8Array[],
  deltaAfter?: number,
): Column {
  const runs = toRuns(rows, sameBytes);
  const { dictionary, indices } = toDictionary(runs.values, bytesKey);
  return {
    field: { name, type: { kind: "run-end-encoded", runEnds: INT32, values: binaryDictionary(id) } },
    array: runEndEncodedArray(rows.length, runs.ends, uint32Array(indices)),
    dictionaries: dictionaryBatches(id, dictionary, deltaAfter),
  };
}

/** `Dictionary<uint32, Binary>`: one index per row. */
export function dictionaryColumn(name: string, id: number, rows: Uint8Array[], deltaAfter?: number): Column {
  const { dictionary, indices } = toDictionary(rows, bytesKey);
  return {
    field: { name, type: binaryDictionary(id) },
    array: uint32Array(indices),
    dictionaries: dictionaryBatches(id, dictionary, deltaAfter),
  };
}

function dictionaryBatches(
  id: number,
  values: Uint8Array[],
  deltaAfter = values.length,
): Column["dictionaries"] {
  const batches: Column["dictionaries"] = [{ id, data: binaryArray(values.slice(0, deltaAfter)) }];
  if (deltaAfter < values.length) {
    batches.push({ id, data: binaryArray(values.slice(deltaAfter)), isDelta: true });
  }
  return batches;
}

/** `RunEndEncoded<int32, Utf8>`, the v2 schema's type for per-sample strings. */
export function reeUtf8Column(name: string, rows: string[]): Column {
  const runs = toRuns(rows, (a, b) => a === b);
  return {
    field: { name, type: { kind: "run-end-encoded", runEnds: INT32, values: { kind: "utf8" } } },
    array: runEndEncodedArray(rows.length, runs.ends, utf8Array(runs.values)),
    dictionaries: [],
  };
}

/** `RunEndEncoded<int32, Int64>`, the agent's type for period, duration and (v1) timestamp. */
export function reeInt64Column(name: string, rows: bigint[]): Column {
  const runs = toRuns(rows, (a, b) => a === b);
  return {
    field: { name, type: { kind: "run-end-encoded", runEnds: INT32, values: INT64 } },
    array: runEndEncodedArray(rows.length, runs.ends, int64Array(runs.values)),
    dictionaries: [],
  };
}

/** A plain, non-nullable Int64 column. */
export function int64Column(name: string, rows: bigint[]): Column {
  return { field: { name, nullable: false, type: INT64 }, array: int64Array(rows), dictionaries: [] };
}

/** A plain Binary column. */
export function binaryColumn(name: string, rows: Uint8Array[]): Column {
  return { field: { name, type: { kind: "binary" } }, array: binaryArray(rows), dictionaries: [] };
}

/** Assembles columns of `rows` rows into the spec of a one-batch stream. */
export function streamOf(columns: Column[], rows: number, metadata: Record<string, string>): IpcStreamSpec {
  return {
    fields: columns.map((column) => column.field),
    metadata,
    dictionaries: columns.flatMap((column) => column.dictionaries),
    batches: [{ length: rows, columns: columns.map((column) => column.array) }],
  };
}
