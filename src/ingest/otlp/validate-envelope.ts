import { invalidArgument } from "../../errors.js";
import type { Envelope } from "../../rpc/otlp-signals.js";

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** Reads a varint at `pos` of `bytes`; returns [value, next position], or undefined when cut short or too long. */
function readVarint(bytes: Uint8Array, pos: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) return undefined;
    const byte = bytes[pos + i] as number;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, pos + i + 1];
  }
  return undefined;
}

type Field = (number: number, wireType: number, start: number, end: number) => string | undefined;

/**
 * Walks the fields of one message in `bytes[from, to)`, checking only the framing: every tag,
 * varint and length in bounds, no group or unknown wire type. Returns what is wrong, or
 * undefined; `field` may reject a field on its own terms.
 */
function walk(bytes: Uint8Array, from: number, to: number, field?: Field): string | undefined {
  let pos = from;
  while (pos < to) {
    const tag = readVarint(bytes, pos);
    if (!tag || tag[1] > to) return `a field tag at byte ${pos} is cut short`;
    const [key, afterTag] = tag;
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) return `a field at byte ${pos} has number 0`;
    let end: number;
    if (wireType === WIRE_VARINT) {
      const value = readVarint(bytes, afterTag);
      if (!value || value[1] > to) return `field ${number} at byte ${pos}: its varint is cut short`;
      end = value[1];
    } else if (wireType === WIRE_FIXED64 || wireType === WIRE_FIXED32) {
      end = afterTag + (wireType === WIRE_FIXED64 ? 8 : 4);
      if (end > to) return `field ${number} at byte ${pos} is cut short`;
    } else if (wireType === WIRE_LENGTH) {
      const length = readVarint(bytes, afterTag);
      if (!length || length[1] + length[0] > to)
        return `field ${number} at byte ${pos}: its length runs past the end`;
      end = length[1] + length[0];
      const problem = field?.(number, wireType, length[1], end);
      if (problem) return problem;
      pos = end;
      continue;
    } else {
      return `field ${number} at byte ${pos} has wire type ${wireType}, which proto3 does not use`;
    }
    const problem = field?.(number, wireType, afterTag, end);
    if (problem) return problem;
    pos = end;
  }
  return undefined;
}

/**
 * Checks that `bytes` is a well-formed protobuf of `envelope` without decoding below it: every
 * field framed correctly, each known field a length-delimited message whose own fields are
 * framed correctly. Unknown fields are tolerated (newer and older senders both pass), and an
 * empty request is valid. Throws INVALID_ARGUMENT naming what is wrong.
 */
export function validateEnvelope(envelope: Envelope, bytes: Uint8Array): void {
  const problem = walk(bytes, 0, bytes.length, (number, wireType, start, end) => {
    const name = envelope.messageFields[number];
    if (name === undefined) return undefined;
    if (wireType !== WIRE_LENGTH)
      return `field ${number} (${name}) has wire type ${wireType}, where a message was expected`;
    const inner = walk(bytes, start, end);
    return inner ? `in field ${number} (${name}) at byte ${start}: ${inner}` : undefined;
  });
  if (problem) {
    throw invalidArgument(`The request is not a well-formed ${envelope.name}: ${problem}.`, "malformed_otlp");
  }
}
