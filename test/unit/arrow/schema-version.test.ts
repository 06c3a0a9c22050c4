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

  it("tells schemas read before apart by every byte, and still checks the rest of each stream", () => {
    // Same length, one byte apart: the second must not be taken for the first.
    const v1 = stream({ parca_write_schema_version: "v1" });
    const v3 = stream({ parca_write_schema_version: "v3" });
    expect(v1.length).toBe(v3.length);
    for (let round = 0; round < 3; round++) {
      expect(schemaVersion(v1)).toBe("v1");
      expect(expectInvalid(() => schemaVersion(v3))).toBe("unknown_schema_version");
    }
    // A known schema followed by a batch cut short is refused like any malformed stream.
    const payload = encodeArrowV2({ labels: { node: "n" } });
    expect(schemaVersion(payload)).toBe("v2");
    expect(expectInvalid(() => schemaVersion(payload.subarray(0, payload.length - 16)))).toBe(
      "malformed_arrow",
    );
  });

  it("rejects bytes that are not an IPC stream", () => {
    expect(expectInvalid(() => schemaVersion(new TextEncoder().encode("not arrow at all")))).toBe(
      "malformed_arrow",
    );
    const gzip = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]);
    expectInvalid(() => schemaVersion(gzip));
  });
});
