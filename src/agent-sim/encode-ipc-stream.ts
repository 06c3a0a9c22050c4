import { BodyCompression } from "apache-arrow/fb/body-compression";
import { BodyCompressionMethod } from "apache-arrow/fb/body-compression-method";
import { Buffer as BufferRef } from "apache-arrow/fb/buffer";
import { CompressionType } from "apache-arrow/fb/compression-type";
import { DictionaryBatch } from "apache-arrow/fb/dictionary-batch";
import { FieldNode } from "apache-arrow/fb/field-node";
import { Message } from "apache-arrow/fb/message";
import { MessageHeader } from "apache-arrow/fb/message-header";
import { MetadataVersion } from "apache-arrow/fb/metadata-version";
import { RecordBatch } from "apache-arrow/fb/record-batch";
import { Builder } from "flatbuffers";
import type { ArrayData } from "./array-data.js";
import { buildSchema } from "./encode-schema.js";
import type { FieldSpec } from "./field-spec.js";
import { lz4StoredFrame } from "./lz4-frame.js";

/** Everything one Arrow IPC stream carries, in the order it is written. */
export interface IpcStreamSpec {
  fields: FieldSpec[];
  metadata?: Record<string, string>;
  /** Written after the schema, before any record batch. */
  dictionaries?: { id: number; data: ArrayData; isDelta?: boolean }[];
  batches: { length: number; columns: ArrayData[] }[];
  /** `lz4-frame`: every non-empty buffer is an int64 uncompressed length plus an LZ4 frame. */
  compression?: "lz4-frame";
}

const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/**
 * Encodes an Arrow IPC stream (metadata V5, continuation markers, 8-byte aligned bodies, an
 * end-of-stream marker) with the flatbuffer builders shipped in `apache-arrow/fb`. Unlike
 * apache-arrow's writer it can write run-end-encoded columns. The caller is responsible for the
 * arrays matching the fields; nothing is validated.
 */
export function encodeIpcStream(spec: IpcStreamSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  const compress = spec.compression === "lz4-frame";
  parts.push(
    ...frame(
      message(MessageHeader.Schema, 0, (b) => buildSchema(b, spec.fields, spec.metadata ?? {})),
      new Uint8Array(0),
    ),
  );
  for (const dictionary of spec.dictionaries ?? []) {
    const body = encodeBody([dictionary.data], compress);
    const metadata = message(MessageHeader.DictionaryBatch, body.bytes.length, (b) => {
      const data = buildRecordBatch(b, dictionary.data.length, body);
      DictionaryBatch.startDictionaryBatch(b);
      DictionaryBatch.addId(b, BigInt(dictionary.id));
      DictionaryBatch.addData(b, data);
      DictionaryBatch.addIsDelta(b, dictionary.isDelta ?? false);
      return DictionaryBatch.endDictionaryBatch(b);
    });
    parts.push(...frame(metadata, body.bytes));
  }
  for (const batch of spec.batches) {
    const body = encodeBody(batch.columns, compress);
    const metadata = message(MessageHeader.RecordBatch, body.bytes.length, (b) =>
      buildRecordBatch(b, batch.length, body),
    );
    parts.push(...frame(metadata, body.bytes));
  }
  parts.push(END_OF_STREAM);
  return concat(parts);
}

interface Body {
  nodes: { length: number; nullCount: number }[];
  buffers: { offset: number; length: number }[];
  bytes: Uint8Array;
  compressed: boolean;
}

function encodeBody(columns: ArrayData[], compress: boolean): Body {
  const nodes: Body["nodes"] = [];
  const raw: Uint8Array[] = [];
  const flatten = (array: ArrayData) => {
    nodes.push({ length: array.length, nullCount: array.nullCount });
    raw.push(...array.buffers);
    array.children.forEach(flatten);
  };
  columns.forEach(flatten);
  const stored = compress ? raw.map(compressBuffer) : raw;
  const buffers: Body["buffers"] = [];
  let offset = 0;
  for (const buffer of stored) {
    buffers.push({ offset, length: buffer.length });
    offset += align8(buffer.length);
  }
  const bytes = new Uint8Array(offset);
  stored.forEach((buffer, i) => {
    bytes.set(buffer, buffers[i]!.offset);
  });
  return { nodes, buffers, bytes, compressed: compress };
}

function compressBuffer(buffer: Uint8Array): Uint8Array {
  if (buffer.length === 0) return buffer;
  const frame = lz4StoredFrame(buffer);
  const out = new Uint8Array(8 + frame.length);
  new DataView(out.buffer).setBigInt64(0, BigInt(buffer.length), true);
  out.set(frame, 8);
  return out;
}

function buildRecordBatch(b: Builder, length: number, body: Body): number {
  RecordBatch.startNodesVector(b, body.nodes.length);
  for (const node of [...body.nodes].reverse()) {
    FieldNode.createFieldNode(b, BigInt(node.length), BigInt(node.nullCount));
  }
  const nodes = b.endVector();
  RecordBatch.startBuffersVector(b, body.buffers.length);
  for (const buffer of [...body.buffers].reverse()) {
    BufferRef.createBuffer(b, BigInt(buffer.offset), BigInt(buffer.length));
  }
  const buffers = b.endVector();
  const compression = body.compressed
    ? BodyCompression.createBodyCompression(b, CompressionType.LZ4_FRAME, BodyCompressionMethod.BUFFER)
    : 0;
  RecordBatch.startRecordBatch(b);
  RecordBatch.addLength(b, BigInt(length));
  RecordBatch.addNodes(b, nodes);
  RecordBatch.addBuffers(b, buffers);
  if (compression !== 0) RecordBatch.addCompression(b, compression);
  return RecordBatch.endRecordBatch(b);
}

function message(type: MessageHeader, bodyLength: number, header: (b: Builder) => number): Uint8Array {
  const b = new Builder(1024);
  const offset = header(b);
  b.finish(Message.createMessage(b, MetadataVersion.V5, type, offset, BigInt(bodyLength), 0));
  return b.asUint8Array();
}

/** Continuation marker, padded metadata length, metadata, padding, body. */
function frame(metadata: Uint8Array, body: Uint8Array): Uint8Array[] {
  const padded = align8(8 + metadata.length) - 8;
  const prefix = new Uint8Array(8);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, 0xffffffff, true);
  view.setInt32(4, padded, true);
  return [prefix, metadata, new Uint8Array(padded - metadata.length), body];
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
