import { Binary, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { encodeStacktraceIdsRecord } from "../../../src/ingest/arrow/encode-stacktrace-ids-record.js";
import { locationsRecordStacktraceIds } from "../../../src/ingest/arrow/locations-record-stacktrace-ids.js";
import { schemaVersion } from "../../../src/ingest/arrow/schema-version.js";
import { hex, id } from "./arrow-fixtures.js";

describe("encodeStacktraceIdsRecord", () => {
  it("round-trips through apache-arrow's reader as one plain Binary column tagged v1", () => {
    const ids = [id(1), id(2), id(3)];
    const table = tableFromIPC(encodeStacktraceIdsRecord(ids));
    expect(table.schema.metadata.get("parca_write_schema_version")).toBe("v1");
    expect(table.schema.fields).toHaveLength(1);
    const field = table.schema.fields[0]!;
    expect(field.name).toBe("stacktrace_id");
    expect(field.type).toBeInstanceOf(Binary);
    expect(table.batches).toHaveLength(1);
    const column = table.getChild("stacktrace_id")!;
    expect(hex(column.toArray() as Uint8Array[])).toEqual(hex(ids));
  });

  it("is read back by profgate's own reader", () => {
    const ids = Array.from({ length: 500 }, (_, i) => id(i));
    const record = encodeStacktraceIdsRecord(ids);
    expect(schemaVersion(record)).toBe("v1");
    expect(hex(locationsRecordStacktraceIds(record))).toEqual(hex(ids));
  });

  it("encodes an empty list as a zero-row batch", () => {
    const table = tableFromIPC(encodeStacktraceIdsRecord([]));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields[0]!.name).toBe("stacktrace_id");
  });
});
