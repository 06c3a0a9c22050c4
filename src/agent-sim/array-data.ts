import { Buffer } from "node:buffer";

/**
 * One Arrow array as the IPC writer lays it out: its buffers in format order (validity first where
 * the type has one; an empty validity buffer means "no nulls") and its child arrays. A
 * dictionary-encoded array holds only its indices; the dictionary travels in a dictionary batch.
 */
export interface ArrayData {
  length: number;
  nullCount: number;
  buffers: Uint8Array[];
  children: ArrayData[];
}

const NO_VALIDITY = new Uint8Array(0);
const utf8 = new TextEncoder();

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/** An Int64 array. */
export const int64Array = (values: bigint[]): ArrayData =>
  primitive(values.length, BigInt64Array.from(values));
/** A UInt64 array. */
export const uint64Array = (values: bigint[]): ArrayData =>
  primitive(values.length, BigUint64Array.from(values));
/** An Int32 array. */
export const int32Array = (values: number[]): ArrayData => primitive(values.length, Int32Array.from(values));
/** A UInt32 array, also the indices of a `Dictionary<Uint32, ...>` array. */
export const uint32Array = (values: number[]): ArrayData =>
  primitive(values.length, Uint32Array.from(values));

function primitive(length: number, values: ArrayBufferView): ArrayData {
  return { length, nullCount: 0, buffers: [NO_VALIDITY, bytesOf(values)], children: [] };
}

/** A Bool array (bit-packed, least significant bit first). */
export function boolArray(values: boolean[]): ArrayData {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, i) => {
    if (value) bits[i >> 3]! |= 1 << (i & 7);
  });
  return { length: values.length, nullCount: 0, buffers: [NO_VALIDITY, bits], children: [] };
}

/** A Binary array with int32 offsets; `null` entries are marked in a validity bitmap. */
export function binaryArray(values: (Uint8Array | null)[]): ArrayData {
  const offsets = new Int32Array(values.length + 1);
  const validity = new Uint8Array(Math.ceil(values.length / 8));
  let size = 0;
  values.forEach((value, i) => {
    if (value !== null) {
      size += value.length;
      validity[i >> 3]! |= 1 << (i & 7);
    }
    offsets[i + 1] = size;
  });
  const data = new Uint8Array(size);
  values.forEach((value, i) => {
    if (value !== null) data.set(value, offsets[i]);
  });
  const nullCount = values.filter((value) => value === null).length;
  const buffers = [nullCount > 0 ? validity : NO_VALIDITY, bytesOf(offsets), data];
  return { length: values.length, nullCount, buffers, children: [] };
}

/** A Utf8 array (same layout as Binary). */
export const utf8Array = (values: string[]): ArrayData =>
  binaryArray(values.map((value) => utf8.encode(value)));

/** A Struct array without nulls over equally long `children`. */
export function structArray(length: number, children: ArrayData[]): ArrayData {
  return { length, nullCount: 0, buffers: [NO_VALIDITY], children };
}

/** A List array without nulls: `offsets` has one more entry than the list has rows. */
export function listArray(offsets: number[], child: ArrayData): ArrayData {
  const length = offsets.length - 1;
  return {
    length,
    nullCount: 0,
    buffers: [NO_VALIDITY, bytesOf(Int32Array.from(offsets))],
    children: [child],
  };
}

/**
 * A RunEndEncoded array of `length` rows: `runEnds` (int32, cumulative, last equal to `length`) and
 * the per-run `values` array. The parent has no buffers and, per the format, a null count of 0.
 */
export function runEndEncodedArray(length: number, runEnds: number[], values: ArrayData): ArrayData {
  return { length, nullCount: 0, buffers: [], children: [int32Array(runEnds), values] };
}

/** Collapses consecutive equal values into runs, the way the agent's REE builders do. */
export function toRuns<T>(values: T[], same: (a: T, b: T) => boolean): { ends: number[]; values: T[] } {
  const runs: { ends: number[]; values: T[] } = { ends: [], values: [] };
  values.forEach((value, i) => {
    const last = runs.values.length - 1;
    if (last >= 0 && same(runs.values[last]!, value)) runs.ends[last] = i + 1;
    else {
      runs.ends.push(i + 1);
      runs.values.push(value);
    }
  });
  return runs;
}

/** Byte equality, with a shortcut for the common case of one array repeated. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a === b || Buffer.compare(a, b) === 0;

/** Dictionary-encodes `values`: unique values in first-appearance order, and one index per value. */
export function toDictionary<T>(
  values: T[],
  key: (value: T) => string,
): { dictionary: T[]; indices: number[] } {
  const positions = new Map<string, number>();
  const dictionary: T[] = [];
  const indices = values.map((value) => {
    const k = key(value);
    let index = positions.get(k);
    if (index === undefined) {
      index = dictionary.length;
      positions.set(k, index);
      dictionary.push(value);
    }
    return index;
  });
  return { dictionary, indices };
}

/** A string key for byte values, for `toDictionary`. */
export const bytesKey = (value: Uint8Array): string =>
  Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
