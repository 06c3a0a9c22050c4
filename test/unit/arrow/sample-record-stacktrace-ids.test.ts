import { describe, expect, it } from "vitest";
import { encodeIpcStream } from "../../../src/agent-sim/encode-ipc-stream.js";
import { encodeSampleRecord } from "../../../src/agent-sim/encode-sample-record.js";
import { binaryArray, uint32Array } from "../../../src/agent-sim/array-data.js";
import { UINT32 } from "../../../src/agent-sim/field-spec.js";
import { sampleRecordStacktraceIds } from "../../../src/ingest/arrow/sample-record-stacktrace-ids.js";
import { expectInvalid, hex, id, toLegacyFraming } from "./arrow-fixtures.js";

const labels = { comm: "nginx", node: "worker-1" };

// A minimal v1 stream with a bare dictionary stacktrace_id column and hand-picked dictionary batches.
function dictionaryStream(
  batches: { values: (Uint8Array | null)[]; isDelta?: boolean }[],
  compression?: "lz4-frame",
) {
  return encodeIpcStream({
    fields: [
      {
        name: "stacktrace_id",
        type: { kind: "dictionary", id: 7, index: UINT32, value: { kind: "binary" } },
      },
    ],
    metadata: { parca_write_schema_version: "v1" },
    dictionaries: batches.map((batch) => ({
      id: 7,
      data: binaryArray(batch.values),
      isDelta: batch.isDelta ?? false,
    })),
    batches: [{ length: 2, columns: [uint32Array([0, 1])] }],
    ...(compression ? { compression } : {}),
  });
}

describe("sampleRecordStacktraceIds", () => {
  for (const stacktraceEncoding of ["run-end-encoded", "dictionary"] as const) {
    it(`returns the ${stacktraceEncoding} column's unique IDs in first-appearance order`, () => {
      const ids = [id(1), id(2), id(3)];
      const record = encodeSampleRecord({
        labels,
        stacktraceIds: [ids[1]!, ids[1]!, ids[0]!, ids[1]!, ids[2]!, ids[0]!],
        stacktraceEncoding,
      });
      expect(hex(sampleRecordStacktraceIds(record))).toEqual(hex([ids[1]!, ids[0]!, ids[2]!]));
    });
  }

  it("appends delta dictionary batches", () => {
    const ids = [id(1), id(2), id(3), id(4)];
    const record = encodeSampleRecord({ labels, stacktraceIds: ids, deltaDictionaryAfter: 2 });
    expect(hex(sampleRecordStacktraceIds(record))).toEqual(hex(ids));
  });

  it("deduplicates values repeated across dictionary batches", () => {
    const record = dictionaryStream([
      { values: [id(1), id(2)] },
      { values: [id(2), id(3), id(1)], isDelta: true },
    ]);
    expect(hex(sampleRecordStacktraceIds(record))).toEqual(hex([id(1), id(2), id(3)]));
  });

  it("skips null dictionary entries", () => {
    const record = dictionaryStream([{ values: [id(1), null, id(2)] }]);
    expect(hex(sampleRecordStacktraceIds(record))).toEqual(hex([id(1), id(2)]));
  });

  it("reads the legacy framing without continuation markers", () => {
    const record = encodeSampleRecord({ labels, stacktraceIds: [id(5), id(6)] });
    expect(hex(sampleRecordStacktraceIds(toLegacyFraming(record)))).toEqual(hex([id(5), id(6)]));
  });

  it("returns no IDs for a record with no rows", () => {
    expect(sampleRecordStacktraceIds(encodeSampleRecord({ labels, stacktraceIds: [] }))).toEqual([]);
  });

  it("handles many rows and IDs", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => id(i));
    const record = encodeSampleRecord({ labels, stacktraceIds: ids, rows: 10_000 });
    expect(hex(sampleRecordStacktraceIds(record))).toEqual(hex(ids));
  });

  it("rejects a record that is not schema v1", () => {
    const v2 = encodeSampleRecord({
      labels,
      stacktraceIds: [id(1)],
      metadata: { parca_write_schema_version: "v2" },
    });
    expect(expectInvalid(() => sampleRecordStacktraceIds(v2))).toBe("unknown_schema_version");
    const untagged = encodeSampleRecord({ labels, stacktraceIds: [id(1)], metadata: {} });
    expect(expectInvalid(() => sampleRecordStacktraceIds(untagged))).toBe("unknown_schema_version");
  });

  it("rejects a record without a stacktrace_id column", () => {
    const record = encodeIpcStream({
      fields: [{ name: "value", type: { kind: "int", bitWidth: 64, signed: true } }],
      metadata: { parca_write_schema_version: "v1" },
      batches: [],
    });
    expect(expectInvalid(() => sampleRecordStacktraceIds(record))).toBe("missing_stacktrace_id");
  });

  it("rejects a plain binary stacktrace_id column", () => {
    const record = encodeIpcStream({
      fields: [{ name: "stacktrace_id", type: { kind: "binary" } }],
      metadata: { parca_write_schema_version: "v1" },
      batches: [{ length: 1, columns: [binaryArray([id(1)])] }],
    });
    expect(expectInvalid(() => sampleRecordStacktraceIds(record))).toBe("unsupported_arrow");
  });

  it("rejects compressed dictionary buffers", () => {
    const record = dictionaryStream([{ values: [id(1), id(2)] }], "lz4-frame");
    expect(expectInvalid(() => sampleRecordStacktraceIds(record))).toBe("unsupported_arrow");
  });

  it("rejects rows sent before their dictionary, and a record without a record batch", () => {
    const noDictionary = dictionaryStream([]);
    expect(expectInvalid(() => sampleRecordStacktraceIds(noDictionary))).toBe("malformed_arrow");
    const noBatch = encodeIpcStream({
      fields: [
        {
          name: "stacktrace_id",
          type: { kind: "dictionary", id: 0, index: UINT32, value: { kind: "binary" } },
        },
      ],
      metadata: { parca_write_schema_version: "v1" },
      dictionaries: [{ id: 0, data: binaryArray([id(1)]) }],
      batches: [],
    });
    expect(expectInvalid(() => sampleRecordStacktraceIds(noBatch))).toBe("malformed_arrow");
  });

  it("rejects every truncation except the one that only drops the end-of-stream marker", () => {
    const record = encodeSampleRecord({ labels, stacktraceIds: [id(1), id(2), id(1)] });
    const expected = hex(sampleRecordStacktraceIds(record));
    for (let length = 0; length < record.length; length++) {
      const prefix = record.subarray(0, length);
      if (length === record.length - 8) expect(hex(sampleRecordStacktraceIds(prefix))).toEqual(expected);
      else expectInvalid(() => sampleRecordStacktraceIds(prefix));
    }
  });
});
