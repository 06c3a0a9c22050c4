import { Decompress } from "fzstd";

const ZSTD_MAGIC = 0xfd2fb528;
/** The window encoders use at their fast levels (8 MiB): allowed even where the limit is lower. */
const COMMON_WINDOW = 8 * 1024 * 1024;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** What a zstd frame header declares: the window the decoder must hold, and the content size if given. */
function frameHeader(bytes: Uint8Array): { window: number; content?: number } | undefined {
  if (bytes.length < 6) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== ZSTD_MAGIC) return undefined;
  const descriptor = bytes[4] as number;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3] as number;
  const contentFlag = descriptor >> 6;
  const contentBytes = contentFlag === 0 ? singleSegment : 1 << contentFlag;
  let at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes;
  let content: number | undefined;
  if (contentBytes > 0) {
    if (bytes.length < at + contentBytes) return undefined;
    content = 0;
    for (let i = 0; i < contentBytes; i++) content += (bytes[at + i] as number) * 2 ** (8 * i);
    if (contentBytes === 2) content += 256;
    at += contentBytes;
  }
  if (singleSegment) return { window: content ?? 0, ...(content !== undefined ? { content } : {}) };
  const windowDescriptor = bytes[5] as number;
  const base = 2 ** (10 + (windowDescriptor >> 3));
  const window = base + (base / 8) * (windowDescriptor & 7);
  return { window, ...(content !== undefined ? { content } : {}) };
}

/** Why a zstd message is refused; its `tooLarge` cases map to the receive limit's refusal. */
export class ZstdError extends Error {
  constructor(
    message: string,
    readonly tooLarge: boolean,
  ) {
    super(message);
  }
}

/** Refuses a frame whose header makes the decoder hold more than `maxBytes`. */
function checkFrame(bytes: Uint8Array, maxBytes: number): void {
  const magic = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if ((magic & SKIPPABLE_MASK) === SKIPPABLE_MAGIC) return;
  const header = frameHeader(bytes);
  if (!header) throw new ZstdError("is not zstd", false);
  if (header.window > Math.max(maxBytes, COMMON_WINDOW) || (header.content ?? 0) > maxBytes)
    throw new ZstdError("declares a size past the limit", true);
}

/**
 * Decompresses a zstd message (one or more frames) without ever holding more than `maxBytes` of
 * output or a window larger than `maxBytes` (or 8 MiB, what encoders commonly use, when that is
 * more): each frame's header is read before the decoder
 * allocates its window, and the output is counted block by block. A bomb (a small frame
 * announcing a huge size) is refused before it costs memory.
 */
export function decompressZstd(input: Uint8Array, maxBytes: number): Buffer {
  const parts: Uint8Array[] = [];
  let total = 0;
  const decoder = new Decompress((chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw new ZstdError("decompresses past the limit", true);
    parts.push(chunk.slice());
  });
  const push = decoder.push.bind(decoder);
  const state = decoder as unknown as { s?: unknown };
  // fzstd starts each frame (and the rest after a frame) through `push`: check headers there.
  // (`s` is undefined before a frame, a count of bytes to skip after one, an object inside one.)
  decoder.push = (chunk: Uint8Array, final?: boolean) => {
    const at = state.s === undefined ? 0 : typeof state.s === "number" ? Math.min(state.s, chunk.length) : -1;
    if (at >= 0 && chunk.length - at >= 4) checkFrame(chunk.subarray(at), maxBytes);
    return push(chunk, final);
  };
  try {
    decoder.push(input, true);
  } catch (error) {
    if (error instanceof ZstdError) throw error;
    throw new ZstdError(`is not valid zstd (${(error as Error).message})`, false);
  }
  return Buffer.concat(parts, total);
}
