import {
  Binary,
  Bool,
  Field,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  Uint64,
  Utf8,
  vectorFromArray,
} from "apache-arrow";

const field = (name: string, type: ConstructorParameters<typeof Field>[1], nullable = true) =>
  new Field(name, type, nullable);

const LINE = new Struct([
  field("line", new Int64()),
  field("function_name", new Utf8()),
  field("function_system_name", new Utf8()),
  field("function_filename", new Utf8()),
  field("function_start_line", new Int64()),
]);

const LOCATION = new Struct([
  field("address", new Uint64()),
  field("frame_type", new Utf8()),
  field("mapping_start", new Uint64()),
  field("mapping_limit", new Uint64()),
  field("mapping_offset", new Uint64()),
  field("mapping_file", new Utf8()),
  field("mapping_build_id", new Utf8()),
  field("lines", new List(field("item", LINE))),
]);

/**
 * Encodes a Write locations record (step 3 of the exchange) with apache-arrow's own writer: schema
 * `parca_write_schema_version=v1`, columns `stacktrace_id` (plain Binary, the IDs in the order given),
 * `is_complete` (bool) and `locations` (list of location structs with nested lines), one synthetic
 * two-frame stack per ID. The agent run-end encodes some nested strings; this uses plain Utf8, which
 * is the same logical data.
 */
export function encodeLocationsRecord(stacktraceIds: Uint8Array[]): Uint8Array {
  const schema = new Schema(
    [
      field("stacktrace_id", new Binary(), false),
      field("is_complete", new Bool(), false),
      field("locations", new List(field("item", LOCATION))),
    ],
    new Map([["parca_write_schema_version", "v1"]]),
  );
  const locations = stacktraceIds.map((_, i) => [
    frame(0x401000n + BigInt(i), "main"),
    frame(0x400800n, "_start"),
  ]);
  const children = [
    vectorFromArray(stacktraceIds, new Binary()),
    vectorFromArray(
      stacktraceIds.map(() => true),
      new Bool(),
    ),
    vectorFromArray(locations, schema.fields[2]!.type),
  ].flatMap((vector) => [...vector.data]);
  const data = makeData({
    type: new Struct(schema.fields),
    length: stacktraceIds.length,
    nullCount: 0,
    children,
  });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), "stream");
}

function frame(address: bigint, functionName: string) {
  return {
    address,
    frame_type: "native",
    mapping_start: 0x400000n,
    mapping_limit: 0x500000n,
    mapping_offset: 0n,
    mapping_file: "/usr/bin/app",
    mapping_build_id: "0123456789abcdef",
    lines: [
      {
        line: 42n,
        function_name: functionName,
        function_system_name: functionName,
        function_filename: "app.c",
        function_start_line: 40n,
      },
    ],
  };
}
