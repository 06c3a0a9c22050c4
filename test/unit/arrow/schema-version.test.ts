import { describe, expect, it } from "vitest";
import { encodeArrowV2 } from "../../../src/agent-sim/encode-arrow-v2.js";
import { encodeIpcStream } from "../../../src/agent-sim/encode-ipc-stream.js";
import { encodeSampleRecord } from "../../../src/agent-sim/encode-sample-record.js";
import { schemaVersion } from "../../../src/ingest/arrow/schema-version.js";
import { expectInvalid, id } from "./arrow-fixtures.js";

const stream = (metadata: Record<string, string>) =>
  encodeIpcStream({
    fields: [{ name: "value", type: { kind: "int", bitWidth: 64, signed: true } }],
    metadata,
    batches: [],
  });

describe("schemaVersion", () => {
  it("reads v1 from a sample record and v2 from a WriteArrow payload", () => {
    expect(schemaVersion(encodeSampleRecord({ labels: { node: "n" }, stacktraceIds: [id(1)] }))).toBe("v1");
    expect(schemaVersion(encodeArrowV2({ labels: { node: "n" } }))).toBe("v2");
    expect(schemaVersion(encodeArrowV2({ compression: "none" }))).toBe("v2");
  });

  it("reads large payloads without decompressing them", () => {
    const payload = encodeArrowV2({ rows: 50, payloadBytes: 4 * 1024 * 1024 });
    expect(payload.length).toBeGreaterThan(4 * 1024 * 1024 - 64 * 1024);
    expect(schemaVersion(payload)).toBe("v2");
  });

  it("rejects a missing or unknown version", () => {
    expect(expectInvalid(() => schemaVersion(stream({})))).toBe("unknown_schema_version");
    expect(expectInvalid(() => schemaVersion(stream({ parca_write_schema_version: "v3" })))).toBe(
      "unknown_schema_version",
    );
    expect(expectInvalid(() => schemaVersion(stream({ other: "v1" })))).toBe("unknown_schema_version");
  });

  it("rejects bytes that are not an IPC stream", () => {
    expect(expectInvalid(() => schemaVersion(new TextEncoder().encode("not arrow at all")))).toBe(
      "malformed_arrow",
    );
    const gzip = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]);
    expectInvalid(() => schemaVersion(gzip));
  });
});
