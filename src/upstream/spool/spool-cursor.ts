import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { FILE_MODE, syncDir } from "../../record-log/log-layout.js";

/** A place in a project's spool: segment `segment`, byte `offset`. */
export interface SpoolPosition {
  segment: number;
  offset: number;
}

const MAGIC = Buffer.from("PGC1", "latin1");
const CURSOR_BYTES = 24;

/** The cursor file of a project's spool directory. */
export const cursorPath = (projectDir: string) => join(projectDir, "cursor");

/**
 * `cursor`: where the first undelivered record of a project's spool starts, 24 bytes rewritten
 * in place and fdatasynced after every delivery: `"PGC1" | CRC-32 of the rest: u32 |
 * segment: u64 | offset: u64`, little-endian. A write this small does not tear in practice;
 * if it ever reads as invalid, delivery restarts at the oldest segment (duplicates, no loss).
 */
export function encodeCursor(position: SpoolPosition): Buffer {
  const bytes = Buffer.alloc(CURSOR_BYTES);
  MAGIC.copy(bytes, 0);
  bytes.writeBigUInt64LE(BigInt(position.segment), 8);
  bytes.writeBigUInt64LE(BigInt(position.offset), 16);
  bytes.writeUInt32LE(crc32(bytes.subarray(8)), 4);
  return bytes;
}

/** The position a cursor file holds; null if it is missing, short or damaged. */
export function decodeCursor(bytes: Buffer): SpoolPosition | null {
  if (bytes.length < CURSOR_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) return null;
  if (crc32(bytes.subarray(8, CURSOR_BYTES)) !== bytes.readUInt32LE(4)) return null;
  return { segment: Number(bytes.readBigUInt64LE(8)), offset: Number(bytes.readBigUInt64LE(16)) };
}

/** Reads a project's cursor: null when there is none, "damaged" when it cannot be trusted. */
export async function readCursor(projectDir: string): Promise<SpoolPosition | null | "damaged"> {
  let handle: FileHandle;
  try {
    handle = await open(cursorPath(projectDir), "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const bytes = Buffer.alloc(CURSOR_BYTES);
    const { bytesRead } = await handle.read(bytes, 0, CURSOR_BYTES, 0);
    // A cursor created but never written is empty: nothing was delivered yet.
    if (bytesRead === 0) return null;
    return decodeCursor(bytes.subarray(0, bytesRead)) ?? "damaged";
  } finally {
    await handle.close();
  }
}

/** The open cursor file of one project, written by its drainer only. */
export class CursorFile {
  private constructor(private readonly handle: FileHandle) {}

  /** Opens the cursor file for positional writes, creating it (and syncing the folder) if missing. */
  static async open(projectDir: string): Promise<CursorFile> {
    const path = cursorPath(projectDir);
    try {
      return new CursorFile(await open(path, "r+"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const handle = await open(path, "wx+", FILE_MODE);
    await syncDir(projectDir).catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    return new CursorFile(handle);
  }

  /** Durably records `position`: resolves after fdatasync. */
  async save(position: SpoolPosition): Promise<void> {
    await this.handle.write(encodeCursor(position), 0, CURSOR_BYTES, 0);
    await this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
