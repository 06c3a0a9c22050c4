import { ByteBuffer } from "flatbuffers";
import { Message } from "apache-arrow/fb/message";
import { expect } from "vitest";
import { DomainError } from "../../../src/errors.js";

/** Deterministic 16-byte IDs, so failures are reproducible. */
export function id(n: number): Uint8Array {
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => (n * 31 + i) & 0xff);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

export const hex = (values: Uint8Array[]): string[] => values.map((v) => Buffer.from(v).toString("hex"));

/** mulberry32: a tiny seeded PRNG for the fuzz loops. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Asserts `run` throws a DomainError of kind invalid_argument, and returns its reason. */
export function expectInvalid(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe("invalid_argument");
    return (error as DomainError).reason;
  }
  throw new Error("expected an invalid_argument error, but the call returned");
}

/** Runs `run`; a throw must be an invalid_argument DomainError. Returns whether it succeeded. */
export function succeedsOrInvalid(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (!(error instanceof DomainError) || error.kind !== "invalid_argument") throw error;
    return false;
  }
}

/** Rewrites a continuation-marker stream into the legacy framing (bare int32 lengths). */
export function toLegacyFraming(stream: Uint8Array): Uint8Array {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const parts: Uint8Array[] = [];
  let position = 0;
  while (position < stream.length) {
    const length = view.getInt32(position + 4, true);
    if (length === 0) break;
    const metadata = stream.subarray(position + 8, position + 8 + length);
    const body = Number(Message.getRootAsMessage(new ByteBuffer(metadata)).bodyLength());
    parts.push(stream.subarray(position + 4, position + 8 + length + body));
    position += 8 + length + body;
  }
  parts.push(new Uint8Array(4));
  return Buffer.concat(parts);
}
