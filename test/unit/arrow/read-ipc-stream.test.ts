import { Message } from "apache-arrow/fb/message";
import { Schema } from "apache-arrow/fb/schema";
import { ByteBuffer } from "flatbuffers";
import { describe, expect, it } from "vitest";
import { encodeArrowV2 } from "../../../src/agent-sim/encode-arrow-v2.js";
import { encodeIpcStream } from "../../../src/agent-sim/encode-ipc-stream.js";
import { encodeLocationsRecord } from "../../../src/agent-sim/encode-locations-record.js";
import { encodeSampleRecord } from "../../../src/agent-sim/encode-sample-record.js";
import type { FieldSpec } from "../../../src/agent-sim/field-spec.js";
import { readIpcStream } from "../../../src/ingest/arrow/read-ipc-stream.js";
import { expectInvalid, id, prng, succeedsOrInvalid, toLegacyFraming } from "./arrow-fixtures.js";

const sample = () => encodeSampleRecord({ labels: { node: "n1" }, stacktraceIds: [id(1), id(2)] });

describe("readIpcStream", () => {
  it("reads the schema, its metadata and the messages of an agent-shaped record", () => {
    const bytes = sample();
    const { schema, messages } = readIpcStream(bytes);
    expect(schema.metadata.get("parca_write_schema_version")).toBe("v1");
    expect(schema.fields.map((field) => field.name)).toEqual([
      "labels.node",
      "stacktrace_id",
      "value",
      "producer",
      "sample_type",
      "sample_unit",
      "period_type",
      "period_unit",
      "temporality",
      "period",
      "duration",
      "timestamp",
    ]);
    const stacktrace = schema.fields[1]!;
    expect(stacktrace.type).toBe("RunEndEncoded");
    expect(stacktrace.children.map((child) => [child.name, child.type])).toEqual([
      ["run_ends", "Int"],
      ["values", "Binary"],
    ]);
    expect(stacktrace.children[1]!.dictionary).toEqual({ id: 1n, indexBitWidth: 32, indexSigned: false });
    expect(messages.map((message) => message.type)).toEqual([
      ...Array.from({ length: 8 }, () => "dictionary_batch"),
      "record_batch",
    ]);
    const batch = messages.at(-1)!;
    expect(batch.batch.length).toBe(2);
    expect(batch.body.buffer).toBe(bytes.buffer); // a view, not a copy
  });

  it("reports dictionary ids, delta flags and compression", () => {
    const deltas = readIpcStream(
      encodeSampleRecord({ labels: {}, stacktraceIds: [id(1), id(2)], deltaDictionaryAfter: 1 }),
    );
    const dictionaries = deltas.messages.filter((message) => message.type === "dictionary_batch");
    expect(dictionaries.slice(0, 2).map((message) => [message.id, message.isDelta])).toEqual([
      [0n, false],
      [0n, true],
    ]);
    const v2 = readIpcStream(encodeArrowV2({ labels: { node: "n1" } }));
    expect(v2.messages.map((message) => message.batch.compression)).toEqual(["lz4_frame", "lz4_frame"]);
  });

  it("reads streams written by apache-arrow and the legacy framing", () => {
    expect(readIpcStream(encodeLocationsRecord([id(1)])).schema.fields.map((field) => field.name)).toEqual([
      "stacktrace_id",
      "is_complete",
      "locations",
    ]);
    const legacy = readIpcStream(toLegacyFraming(sample()));
    expect(legacy.messages).toHaveLength(9);
  });

  it("stops at the end-of-stream marker and ignores what follows", () => {
    const bytes = sample();
    const padded = new Uint8Array(bytes.length + 64).fill(0xab);
    padded.set(bytes);
    expect(readIpcStream(padded).messages).toHaveLength(9);
  });

  it("rejects empty input, a missing schema and a second schema", () => {
    expectInvalid(() => readIpcStream(new Uint8Array(0)));
    expectInvalid(() => readIpcStream(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])));
    const bytes = sample();
    const doubled = new Uint8Array(bytes.length * 2);
    doubled.set(bytes.subarray(0, bytes.length - 8));
    doubled.set(bytes, bytes.length - 8);
    expectInvalid(() => readIpcStream(doubled));
  });

  it("rejects wrong metadata lengths", () => {
    const bytes = sample();
    for (const length of [bytes.length, -8, 4, 0x7fffffff, -0x80000000]) {
      const copy = bytes.slice();
      new DataView(copy.buffer).setInt32(4, length, true);
      expect(expectInvalid(() => readIpcStream(copy))).toBe("malformed_arrow");
    }
  });

  it("rejects schemas nested too deep or too wide to be real", () => {
    let deep: FieldSpec = { name: "leaf", type: { kind: "binary" } };
    for (let i = 0; i < 100; i++) deep = { name: `s${i}`, type: { kind: "struct", fields: [deep] } };
    expectInvalid(() => readIpcStream(encodeIpcStream({ fields: [deep], batches: [] })));
    const wide = Array.from(
      { length: 10_001 },
      (_, i): FieldSpec => ({ name: `f${i}`, type: { kind: "bool" } }),
    );
    expectInvalid(() => readIpcStream(encodeIpcStream({ fields: wide, batches: [] })));
  });

  it("survives a field tree whose children point back at their parent", () => {
    const leaf: FieldSpec = { name: "leaf", type: { kind: "bool" } };
    const bytes = encodeIpcStream({
      fields: [{ name: "loop", type: { kind: "struct", fields: [leaf, leaf, leaf, leaf] } }],
      batches: [],
    });
    const metadata = bytes.subarray(8);
    const bb = new ByteBuffer(metadata);
    const field = (Message.getRootAsMessage(bb).header(new Schema()) as Schema).fields(0)!;
    const children = bb.__vector(field.bb_pos + bb.__offset(field.bb_pos, 14)); // Field.children
    const view = new DataView(metadata.buffer, metadata.byteOffset);
    for (let i = 0; i < 4; i++) view.setInt32(children + 4 * i, field.bb_pos - (children + 4 * i), true);
    const started = performance.now();
    expect(expectInvalid(() => readIpcStream(bytes))).toBe("malformed_arrow");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("throws only invalid_argument on random bytes", () => {
    const random = prng(1);
    for (let i = 0; i < 3000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 512) }, () => Math.floor(random() * 256));
      if (i % 3 === 0)
        bytes.set([0xff, 0xff, 0xff, 0xff, Math.floor(random() * 256), 0, 0, 0].slice(0, bytes.length));
      expectInvalid(() => readIpcStream(bytes));
    }
  });

  it("never throws anything but invalid_argument on mutated valid streams", () => {
    const random = prng(2);
    const streams = [sample(), encodeLocationsRecord([id(1), id(2)]), encodeArrowV2({ labels: { a: "b" } })];
    let rejected = 0;
    for (let i = 0; i < 6000; i++) {
      const bytes = streams[i % streams.length]!.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      if (!succeedsOrInvalid(() => readIpcStream(bytes))) rejected += 1;
    }
    expect(rejected).toBeGreaterThan(0);
  });
});
