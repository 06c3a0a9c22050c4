import { type FileHandle, open } from "node:fs/promises";
import { decodeBody, FRAME_HEADER_BYTES, MAGIC, parseFrameHeader } from "./segment-format.js";
import { readFrames } from "./segment-reader.js";
import { listSegments, openSegment, segmentPath } from "./log-layout.js";

/** Receives the sink's warnings: something was repaired or skipped, and nobody needs to act now. */
export type SinkWarningHandler = (message: string, details: Record<string, unknown>) => void;

/** Where a project's next append goes: segment `sequence`, at byte `size`. */
export interface SegmentPosition {
  sequence: number;
  size: number;
}

/**
 * Makes a project's last segment safe to append to after a crash, and never throws because of
 * what the segment contains. The segment is scanned from its start; if it does not end after a
 * valid frame:
 * - when no valid frame follows the first invalid one, that is a torn tail (a write that was
 *   never acknowledged): it is truncated away and appends continue after the last valid record;
 * - when a valid frame does follow, the damage is in acknowledged data: the segment is left as
 *   it is (the reader reports the corruption) and appends go to a new segment.
 * Either case is reported through `onWarning`.
 */
export async function recoverProject(
  projectDir: string,
  onWarning: SinkWarningHandler,
): Promise<SegmentPosition> {
  const last = (await listSegments(projectDir)).at(-1);
  if (last === undefined) return { sequence: 1, size: 0 };
  const path = segmentPath(projectDir, last);
  const handle = await open(path, "r+");
  try {
    const { size } = await handle.stat();
    let validEnd = 0;
    let reason: string | undefined;
    for await (const frame of readFrames(handle, 0, size)) {
      if (frame.kind === "record") validEnd = frame.end;
      else reason = frame.kind === "corrupt" ? frame.reason : "incomplete frame";
    }
    if (reason === undefined) return { sequence: last, size };

    const nextValidOffset = await findValidFrame(handle, validEnd + 1, size);
    if (nextValidOffset !== null) {
      onWarning(
        "A sink segment is corrupt before its end; it is kept as is and appends go to a new segment.",
        {
          path,
          offset: validEnd,
          reason,
          nextValidOffset,
        },
      );
      // Created now, so that readers treat the damaged segment as an older one and report it.
      await (await openSegment(projectDir, last + 1)).close();
      return { sequence: last + 1, size: 0 };
    }
    onWarning(
      "A sink segment has a torn tail from an unfinished write; it was truncated after the last valid record.",
      {
        path,
        offset: validEnd,
        droppedBytes: size - validEnd,
        reason,
      },
    );
    await handle.truncate(validEnd);
    await handle.datasync();
    return { sequence: last, size: validEnd };
  } finally {
    await handle.close();
  }
}

/** The offset of the first valid frame at or after `from`, searching by magic; null if none. */
async function findValidFrame(handle: FileHandle, from: number, size: number): Promise<number | null> {
  if (size - from < FRAME_HEADER_BYTES) return null;
  // Only reached after damage, so reading the rest of one segment into memory is acceptable.
  const rest = Buffer.allocUnsafe(size - from);
  const { bytesRead } = await handle.read(rest, 0, rest.length, from);
  const bytes = rest.subarray(0, bytesRead);
  for (let at = bytes.indexOf(MAGIC); at !== -1; at = bytes.indexOf(MAGIC, at + 1)) {
    if (bytes.length - at < FRAME_HEADER_BYTES) return null;
    const header = parseFrameHeader(bytes.subarray(at));
    if ("corrupt" in header) continue;
    const bodyStart = at + FRAME_HEADER_BYTES;
    if (bodyStart + header.bodyLength > bytes.length) continue;
    const body = bytes.subarray(bodyStart, bodyStart + header.bodyLength);
    if (typeof decodeBody(body, header.crc) !== "string") return from + at;
  }
  return null;
}
