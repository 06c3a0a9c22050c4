import { type FileHandle, open } from "node:fs/promises";
import { decodeBody, FRAME_HEADER_BYTES, parseFrameHeader } from "./segment-format.js";
import type { IngestRecord } from "./record.js";

/**
 * One step through a segment: a valid record (`end` is the offset just past it), or the reason
 * the segment stops there: `incomplete` when the file ends inside a frame (a write in
 * progress or a torn tail), `corrupt` when a complete frame is invalid.
 */
export type SegmentFrame =
  | { kind: "record"; offset: number; end: number; record: IngestRecord }
  | { kind: "incomplete"; offset: number }
  | { kind: "corrupt"; offset: number; reason: string };

/**
 * Reads a segment file from its start up to its size when opened, so bytes appended meanwhile
 * are not seen. Yields each valid record in order; if the segment does not end exactly after
 * a valid frame, the last item is `incomplete` or `corrupt` and nothing after it is read.
 */
export async function* readSegment(path: string): AsyncGenerator<SegmentFrame> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    yield* readFrames(handle, 0, size);
  } finally {
    await handle.close();
  }
}

/** Like {@link readSegment}, on an open handle, from `offset` up to `size`. */
export async function* readFrames(
  handle: FileHandle,
  offset: number,
  size: number,
): AsyncGenerator<SegmentFrame> {
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  while (offset < size) {
    const frame = await readFrameAt(handle, head, offset, size);
    yield frame;
    if (frame.kind !== "record") return;
    offset = frame.end;
  }
}

/** Reads and validates the single frame at `offset`; see {@link SegmentFrame}. */
export async function readFrameAt(
  handle: FileHandle,
  head: Buffer,
  offset: number,
  size: number,
): Promise<SegmentFrame> {
  if (size - offset < FRAME_HEADER_BYTES || !(await readExactly(handle, head, offset))) {
    return { kind: "incomplete", offset };
  }
  const header = parseFrameHeader(head);
  if ("corrupt" in header) return { kind: "corrupt", offset, reason: header.corrupt };
  const end = offset + FRAME_HEADER_BYTES + header.bodyLength;
  if (end > size) return { kind: "incomplete", offset };
  const body = Buffer.allocUnsafe(header.bodyLength);
  if (!(await readExactly(handle, body, offset + FRAME_HEADER_BYTES))) return { kind: "incomplete", offset };
  const record = decodeBody(body, header.crc);
  if (typeof record === "string") return { kind: "corrupt", offset, reason: record };
  return { kind: "record", offset, end, record };
}

/** Fills `buffer` from `position`; false if the file ends first (it was truncated meanwhile). */
async function readExactly(handle: FileHandle, buffer: Buffer, position: number): Promise<boolean> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) return false;
    filled += bytesRead;
  }
  return true;
}
