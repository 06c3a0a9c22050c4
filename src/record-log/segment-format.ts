import { crc32 } from "node:zlib";
import { type IngestMethod, type IngestRecord, METHOD_PATHS, recordOrigin } from "./record.js";

/**
 * The on-disk record format of the local sink's segment files (`<16-digit sequence>.seg`).
 * A segment is a plain concatenation of frames, with no file header. All integers are
 * little-endian unsigned.
 *
 * ```
 * frame   := magic:4 bodyLength:u32 bodyCrc:u32 body            (12-byte frame header)
 * magic   := "PGS1" (0x50 0x47 0x53 0x31); a new layout gets a new magic
 * bodyCrc := CRC-32 (zlib/IEEE polynomial) of the `bodyLength` body bytes
 * body    := headerLength:u32 header payloadCount:u32 payload*
 * header  := UTF-8 JSON {"receivedAt":ms,"method":..,"organizationId":..,"projectId":..,
 *            "serviceAccountId":..,"tokenId":..}
 * payload := payloadLength:u32 bytes            (the agent's bytes, exactly as received)
 * ```
 *
 * A frame is valid only if its magic matches, its body lies within the file, its CRC matches
 * and its body decodes completely. Bodies larger than {@link MAX_BODY_BYTES} are refused on
 * write and treated as corruption on read.
 */
export const MAGIC = Buffer.from("PGS1", "latin1");

/** Bytes before the body: magic, body length, body CRC. */
export const FRAME_HEADER_BYTES = 12;

/** Upper bound of one record's body; larger lengths on disk can only be corruption. */
export const MAX_BODY_BYTES = 1 << 30;

const METHODS: ReadonlySet<string> = new Set<string>(Object.keys(METHOD_PATHS));

/** A record encoded as the list of buffers to write, in order; payloads are referenced, not copied. */
export interface EncodedFrame {
  buffers: Uint8Array[];
  byteLength: number;
}

/**
 * Encodes a record as one frame. The payload buffers are part of the result as they are, so
 * they must not be modified until the frame is written; the CRC is computed here.
 * Throws a plain `RangeError` if the body would exceed {@link MAX_BODY_BYTES}.
 */
export function encodeRecord(record: IngestRecord): EncodedFrame {
  const header = Buffer.from(
    JSON.stringify({ receivedAt: record.receivedAt, method: record.method, ...recordOrigin(record) }),
    "utf8",
  );
  const count = record.payloads.length;
  // One allocation for the frame header, the record header and every payload length prefix.
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 + header.length + 4 + 4 * count);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(header.length, FRAME_HEADER_BYTES);
  header.copy(head, FRAME_HEADER_BYTES + 4);
  const countAt = FRAME_HEADER_BYTES + 4 + header.length;
  head.writeUInt32LE(count, countAt);

  const buffers: Uint8Array[] = [head.subarray(0, countAt + 4)];
  let crc = crc32(buffers[0]!.subarray(FRAME_HEADER_BYTES));
  let bodyLength = 4 + header.length + 4;
  let prefixAt = countAt + 4;
  for (const payload of record.payloads) {
    const prefix = head.subarray(prefixAt, prefixAt + 4);
    prefix.writeUInt32LE(payload.byteLength, 0);
    prefixAt += 4;
    crc = crc32(payload, crc32(prefix, crc));
    bodyLength += 4 + payload.byteLength;
    buffers.push(prefix);
    if (payload.byteLength > 0) buffers.push(payload);
  }
  if (bodyLength > MAX_BODY_BYTES)
    throw new RangeError(`record body of ${bodyLength} bytes exceeds the limit`);
  head.writeUInt32LE(bodyLength, 4);
  head.writeUInt32LE(crc, 8);
  return { buffers, byteLength: FRAME_HEADER_BYTES + bodyLength };
}

/** A frame header as read: the body's length and expected CRC, or why it cannot be a frame. */
export type FrameHeader = { bodyLength: number; crc: number } | { corrupt: string };

/** Parses the {@link FRAME_HEADER_BYTES} bytes at the start of `bytes`. */
export function parseFrameHeader(bytes: Uint8Array): FrameHeader {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  if (!view.subarray(0, 4).equals(MAGIC)) return { corrupt: "bad magic" };
  const bodyLength = view.readUInt32LE(4);
  if (bodyLength > MAX_BODY_BYTES) return { corrupt: "implausible body length" };
  return { bodyLength, crc: view.readUInt32LE(8) };
}

/**
 * Checks a body against its CRC and decodes it. Payloads are views into `body` (no copy).
 * Returns the reason as a string when the body is not a valid record.
 */
export function decodeBody(body: Buffer, crc: number): IngestRecord | string {
  if (crc32(body) !== crc) return "checksum mismatch";
  if (body.length < 4) return "truncated record header";
  const headerLength = body.readUInt32LE(0);
  if (4 + headerLength + 4 > body.length) return "truncated record header";
  let header: unknown;
  try {
    header = JSON.parse(body.toString("utf8", 4, 4 + headerLength));
  } catch {
    return "unreadable record header";
  }
  const origin = parseHeader(header);
  if (origin === null) return "invalid record header";

  let at = 4 + headerLength;
  const count = body.readUInt32LE(at);
  at += 4;
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 4 > body.length) return "truncated payload";
    const length = body.readUInt32LE(at);
    at += 4;
    if (at + length > body.length) return "truncated payload";
    payloads.push(body.subarray(at, at + length));
    at += length;
  }
  if (at !== body.length) return "trailing bytes after payloads";
  return { ...origin, payloads };
}

function parseHeader(value: unknown): Omit<IngestRecord, "payloads"> | null {
  if (typeof value !== "object" || value === null) return null;
  const h = value as Record<string, unknown>;
  const strings = [h["method"], h["organizationId"], h["projectId"], h["serviceAccountId"], h["tokenId"]];
  if (typeof h["receivedAt"] !== "number" || !strings.every((s) => typeof s === "string")) return null;
  if (!METHODS.has(h["method"] as string)) return null;
  return {
    receivedAt: h["receivedAt"],
    method: h["method"] as IngestMethod,
    organizationId: h["organizationId"] as string,
    projectId: h["projectId"] as string,
    serviceAccountId: h["serviceAccountId"] as string,
    tokenId: h["tokenId"] as string,
  };
}
