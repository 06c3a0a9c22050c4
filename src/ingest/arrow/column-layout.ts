import { invalidArgument } from "../../errors.js";
import type { IpcBatch } from "./read-batch.js";
import type { IpcField } from "./read-schema.js";

/** Where a top-level column's nodes and buffers start in a record batch. */
export interface ColumnSlot {
  firstNode: number;
  firstBuffer: number;
}

/** How many nodes and buffers a record batch of a schema has, and where each column starts. */
export interface BatchLayout {
  nodes: number;
  buffers: number;
  columns: ColumnSlot[];
}

// Buffers per array in IPC metadata V5 (validity bitmap included where the type has one).
const BUFFERS = new Map<string, number>([
  ["Null", 0],
  ["RunEndEncoded", 0],
  ["Struct_", 1],
  ["FixedSizeList", 1],
  ["Int", 2],
  ["FloatingPoint", 2],
  ["Bool", 2],
  ["Decimal", 2],
  ["Date", 2],
  ["Time", 2],
  ["Timestamp", 2],
  ["Interval", 2],
  ["Duration", 2],
  ["FixedSizeBinary", 2],
  ["List", 2],
  ["LargeList", 2],
  ["Map", 2],
  ["Binary", 3],
  ["Utf8", 3],
  ["LargeBinary", 3],
  ["LargeUtf8", 3],
  ["ListView", 3],
  ["LargeListView", 3],
]);

/**
 * Computes the flattened node/buffer layout of a record batch for `fields`, per the Arrow
 * columnar format: one node per array in pre-order, a dictionary-encoded array contributing only its
 * indices. Types with a variable buffer count (unions, views) are rejected with `invalidArgument`
 * (reason `unsupported_arrow`): the agent's v1 records never contain them.
 */
export function batchLayout(fields: IpcField[]): BatchLayout {
  const layout: BatchLayout = { nodes: 0, buffers: 0, columns: [] };
  for (const field of fields) {
    layout.columns.push({ firstNode: layout.nodes, firstBuffer: layout.buffers });
    count(field, layout);
  }
  return layout;
}

function count(field: IpcField, layout: BatchLayout): void {
  layout.nodes += 1;
  if (field.dictionary !== undefined) {
    layout.buffers += 2;
    return;
  }
  const buffers = BUFFERS.get(field.type);
  if (buffers === undefined) {
    throw invalidArgument(
      `Arrow ${field.type} columns are not supported in this record.`,
      "unsupported_arrow",
    );
  }
  layout.buffers += buffers;
  for (const child of field.children) count(child, layout);
}

/** Rejects a record batch whose node or buffer count does not match its schema. */
export function checkBatchLayout(batch: IpcBatch, layout: BatchLayout): void {
  if (batch.nodes.length !== layout.nodes || batch.buffers.length !== layout.buffers) {
    throw invalidArgument("The Arrow record batch does not match its schema.", "malformed_arrow");
  }
}

/** Every dictionary-encoded field of the tree, by dictionary id. */
export function dictionaryFields(
  fields: IpcField[],
  found = new Map<bigint, IpcField>(),
): Map<bigint, IpcField> {
  for (const field of fields) {
    if (field.dictionary !== undefined) found.set(field.dictionary.id, field);
    dictionaryFields(field.children, found);
  }
  return found;
}
