import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { binaryArray, boolArray } from "../../../src/agent-sim/array-data.js";
import { encodeIpcStream } from "../../../src/agent-sim/encode-ipc-stream.js";
import { encodeLocationsRecord } from "../../../src/agent-sim/encode-locations-record.js";
import { encodeSampleRecord } from "../../../src/agent-sim/encode-sample-record.js";
import { locationsRecordStacktraceIds } from "../../../src/ingest/arrow/locations-record-stacktrace-ids.js";
import { expectInvalid, hex, id } from "./arrow-fixtures.js";

describe("locationsRecordStacktraceIds", () => {
  it("returns the echoed IDs in row order", () => {
    const ids = [id(3), id(1), id(2)];
    const record = encodeLocationsRecord(ids);
    expect(hex(locationsRecordStacktraceIds(record))).toEqual(hex(ids));
  });

  it("produces a record apache-arrow reads, with the nested locations", () => {
    const table = tableFromIPC(encodeLocationsRecord([id(1), id(2)]));
    expect(table.numRows).toBe(2);
    expect(table.schema.metadata.get("parca_write_schema_version")).toBe("v1");
    const first = table.get(0)!.toJSON();
    expect(first["is_complete"]).toBe(true);
    expect(first["locations"].toArray()).toHaveLength(2);
  });

  it("finds the column when it is not the first one", () => {
    const record = encodeIpcStream({
      fields: [
        { name: "is_complete", type: { kind: "bool" } },
        { name: "stacktrace_id", type: { kind: "binary" } },
      ],
      batches: [{ length: 3, columns: [boolArray([true, true, false]), binaryArray([id(1), null, id(2)])] }],
    });
    expect(hex(locationsRecordStacktraceIds(record))).toEqual(hex([id(1), id(2)]));
  });

  it("rejects a record without a binary stacktrace_id column or without a record batch", () => {
    const noColumn = encodeIpcStream({
      fields: [{ name: "is_complete", type: { kind: "bool" } }],
      batches: [{ length: 1, columns: [boolArray([true])] }],
    });
    expect(expectInvalid(() => locationsRecordStacktraceIds(noColumn))).toBe("missing_stacktrace_id");
    const sample = encodeSampleRecord({ labels: {}, stacktraceIds: [id(1)] });
    expect(expectInvalid(() => locationsRecordStacktraceIds(sample))).toBe("unsupported_arrow");
    const noBatch = encodeIpcStream({
      fields: [{ name: "stacktrace_id", type: { kind: "binary" } }],
      batches: [],
    });
    expect(expectInvalid(() => locationsRecordStacktraceIds(noBatch))).toBe("malformed_arrow");
  });

  it("rejects a record batch that does not match the schema", () => {
    const record = encodeIpcStream({
      fields: [{ name: "stacktrace_id", type: { kind: "binary" } }],
      batches: [{ length: 1, columns: [binaryArray([id(1)]), boolArray([true])] }],
    });
    expect(expectInvalid(() => locationsRecordStacktraceIds(record))).toBe("malformed_arrow");
  });

  it("rejects offsets that point outside the data buffer", () => {
    const column = binaryArray([id(1), id(2)]);
    const offsets = new Int32Array([0, 16, 4096]);
    column.buffers[1] = new Uint8Array(offsets.buffer);
    const record = encodeIpcStream({
      fields: [{ name: "stacktrace_id", type: { kind: "binary" } }],
      batches: [{ length: 2, columns: [column] }],
    });
    expect(expectInvalid(() => locationsRecordStacktraceIds(record))).toBe("malformed_arrow");
  });
});
