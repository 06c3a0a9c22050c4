import { invalidArgument } from "../../errors.js";
import type { IpcBatch } from "./read-batch.js";

const malformed = () => invalidArgument("An Arrow binary column is malformed.", "malformed_arrow");

/**
 * Reads the values of a top-level `Binary` array whose node is `batch.nodes[node]` and whose validity,
 * offsets and data buffers are `batch.buffers[buffer..buffer+2]`. Null entries are skipped.
 *
 * Guarantees: each value is a copy (it does not pin `body`); offsets are checked to be
 * non-decreasing and inside the data buffer; compressed buffers are rejected with
 * `invalidArgument` (reason `unsupported_arrow`) because profgate never decompresses.
 */
export function readBinaryValues(
  batch: IpcBatch,
  body: Uint8Array,
  node: number,
  buffer: number,
): Uint8Array[] {
  if (batch.compression !== null) {
    throw invalidArgument("Compressed Arrow buffers are not supported in this record.", "unsupported_arrow");
  }
  const { length, nullCount } = batch.nodes[node] ?? throwMalformed();
  // Only top-level columns are read, and those are as long as their batch.
  if (length !== batch.length) throw malformed();
  const validity = slice(body, batch, buffer);
  const offsets = slice(body, batch, buffer + 1);
  const data = slice(body, batch, buffer + 2);
  if (length === 0) return [];
  if (offsets.length < 4 * (length + 1)) throw malformed();
  // Writers may omit the bitmap (or leave it stale) when there are no nulls.
  const checkValidity = nullCount > 0;
  if (checkValidity && validity.length < Math.ceil(length / 8)) throw malformed();
  const view = new DataView(offsets.buffer, offsets.byteOffset, offsets.byteLength);
  const values: Uint8Array[] = [];
  let start = view.getInt32(0, true);
  if (start < 0) throw malformed();
  for (let i = 0; i < length; i++) {
    const end = view.getInt32(4 * (i + 1), true);
    if (end < start || end > data.length) throw malformed();
    const valid = !checkValidity || ((validity[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
    if (valid) values.push(data.slice(start, end));
    start = end;
  }
  return values;
}

function slice(body: Uint8Array, batch: IpcBatch, index: number): Uint8Array {
  const ref = batch.buffers[index] ?? throwMalformed();
  return body.subarray(ref.offset, ref.offset + ref.length);
}

function throwMalformed(): never {
  throw malformed();
}
