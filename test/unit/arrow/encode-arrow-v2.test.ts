import { describe, expect, it } from "vitest";
import { encodeArrowV2 } from "../../../src/agent-sim/encode-arrow-v2.js";
import { lz4StoredFrame } from "../../../src/agent-sim/lz4-frame.js";
import { readIpcStream } from "../../../src/ingest/arrow/read-ipc-stream.js";

// Independent xxh32 for inputs under 16 bytes, to check the frame header checksum.
function xxh32Short(bytes: Uint8Array): number {
  const P1 = 2654435761;
  const P2 = 2246822519;
  const P3 = 3266489917;
  const P5 = 374761393;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h = (P5 + bytes.length) >>> 0;
  for (const byte of bytes) h = Math.imul(rotl((h + Math.imul(byte, P5)) >>> 0, 11), P1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Decodes a frame of stored blocks; throws on anything else. */
function decodeStoredFrame(frame: Uint8Array): Uint8Array {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  expect(view.getUint32(0, true)).toBe(0x184d2204);
  expect(frame[6]).toBe((xxh32Short(frame.subarray(4, 6)) >>> 8) & 0xff);
  const parts: Uint8Array[] = [];
  let position = 7;
  for (;;) {
    const size = view.getUint32(position, true);
    if (size === 0) break;
    expect(size & 0x80000000).not.toBe(0);
    const length = size & 0x7fffffff;
    parts.push(frame.subarray(position + 4, position + 4 + length));
    position += 4 + length;
  }
  expect(position + 4).toBe(frame.length);
  return new Uint8Array(Buffer.concat(parts));
}

describe("encodeArrowV2", () => {
  it("LZ4-frames every non-empty buffer behind its uncompressed length", () => {
    const payload = encodeArrowV2({ labels: { node: "n1" }, rows: 3 });
    const { messages } = readIpcStream(payload);
    for (const { batch, body } of messages) {
      expect(batch.compression).toBe("lz4_frame");
      for (const ref of batch.buffers.filter((buffer) => buffer.length > 0)) {
        const buffer = body.subarray(ref.offset, ref.offset + ref.length);
        const uncompressed = Number(new DataView(buffer.buffer, buffer.byteOffset).getBigInt64(0, true));
        expect(decodeStoredFrame(buffer.subarray(8))).toHaveLength(uncompressed);
      }
    }
  });

  it("splits large inputs into 64 KiB stored blocks", () => {
    const data = Uint8Array.from({ length: 150_000 }, (_, i) => i & 0xff);
    expect(Buffer.from(decodeStoredFrame(lz4StoredFrame(data))).equals(data)).toBe(true);
    expect(decodeStoredFrame(lz4StoredFrame(new Uint8Array(0)))).toHaveLength(0);
  });

  it("pads to about payloadBytes", () => {
    for (const size of [16 * 1024, 64 * 1024, 1024 * 1024]) {
      const payload = encodeArrowV2({ rows: 10, payloadBytes: size });
      expect(Math.abs(payload.length - size)).toBeLessThan(1024);
    }
    expect(encodeArrowV2({ payloadBytes: 10 }).length).toBeGreaterThan(10);
  });
});
