import {
  Binary,
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  vectorFromArray,
} from "apache-arrow";
import { SCHEMA_VERSION_KEY } from "./schema-version.js";

/**
 * Builds the server's `WriteResponse.record` for step 2 of the Write exchange: an Arrow IPC stream
 * (schema with `parca_write_schema_version=v1`, one record batch, end-of-stream marker) with a single
 * non-nullable `stacktrace_id` column of plain `Binary`, listing `ids` in order. This is the shape
 * the agent checks for (one field, that name, a binary array).
 */
export function encodeStacktraceIdsRecord(ids: Uint8Array[]): Uint8Array {
  const schema = new Schema(
    [new Field("stacktrace_id", new Binary(), false)],
    new Map([[SCHEMA_VERSION_KEY, "v1"]]),
  );
  const column = vectorFromArray(ids, new Binary());
  const data = makeData({
    type: new Struct(schema.fields),
    length: ids.length,
    nullCount: 0,
    children: [...column.data],
  });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), "stream");
}
