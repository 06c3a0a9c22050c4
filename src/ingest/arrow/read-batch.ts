import { CompressionType } from "apache-arrow/fb/compression-type";
import type { RecordBatch } from "apache-arrow/fb/record-batch";
import { invalidArgument } from "../../errors.js";

/** One array's length and null count, in the pre-order of the schema's field tree. */
export interface IpcNode {
  length: number;
  nullCount: number;
}

/** Where one buffer lies in the message body. */
export interface IpcBufferRef {
  offset: number;
  length: number;
}

/** The metadata of a record batch (or of the data of a dictionary batch). */
export interface IpcBatch {
  length: number;
  nodes: IpcNode[];
  buffers: IpcBufferRef[];
  /** The codec the buffers are compressed with, or null when they are stored as is. */
  compression: "lz4_frame" | "zstd" | null;
}

const malformed = () => invalidArgument("The Arrow IPC metadata is malformed.", "malformed_arrow");

/**
 * Converts a flatbuffer `RecordBatch` table into plain objects. Guarantees every length is a
 * non-negative safe integer, every null count is at most its length, and every buffer lies inside
 * a body of `bodyLength` bytes.
 */
export function readBatch(batch: RecordBatch, bodyLength: number): IpcBatch {
  const nodes: IpcNode[] = [];
  for (let i = 0; i < batch.nodesLength(); i++) {
    const node = batch.nodes(i);
    if (node === null) throw malformed();
    const length = safeInteger(node.length());
    const nullCount = safeInteger(node.nullCount());
    if (nullCount > length) throw malformed();
    nodes.push({ length, nullCount });
  }
  const buffers: IpcBufferRef[] = [];
  for (let i = 0; i < batch.buffersLength(); i++) {
    const buffer = batch.buffers(i);
    if (buffer === null) throw malformed();
    const offset = safeInteger(buffer.offset());
    const length = safeInteger(buffer.length());
    if (offset + length > bodyLength) throw malformed();
    buffers.push({ offset, length });
  }
  return { length: safeInteger(batch.length()), nodes, buffers, compression: codec(batch) };
}

function codec(batch: RecordBatch): IpcBatch["compression"] {
  const compression = batch.compression();
  if (compression === null) return null;
  switch (compression.codec()) {
    case CompressionType.LZ4_FRAME:
      return "lz4_frame";
    case CompressionType.ZSTD:
      return "zstd";
    default:
      throw malformed();
  }
}

/** Narrows an int64 from the metadata to a non-negative safe integer, or rejects the stream. */
export function safeInteger(value: bigint): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed();
  return Number(value);
}
