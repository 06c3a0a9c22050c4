import type { FileHandle } from "node:fs/promises";
import { unavailable } from "../errors.js";
import type { EncodedFrame } from "./segment-format.js";
import type { SegmentPosition, SinkWarningHandler } from "./segment-recovery.js";
import { openSegment } from "./log-layout.js";

/**
 * The two system calls a flush makes. Replaceable only so tests can inject I/O failures;
 * `writev` may write less than asked, as the system call may.
 */
export interface SegmentIo {
  writev(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<number>;
  datasync(handle: FileHandle): Promise<void>;
}

/** The real `writev(2)` and `fdatasync(2)`. */
export const nodeSegmentIo: SegmentIo = {
  writev: async (handle, buffers, position) => (await handle.writev(buffers, position)).bytesWritten,
  datasync: (handle) => handle.datasync(),
};

/** Counters shared by a sink's writers; `flushes` counts fdatasync batches, successful or not. */
export interface SinkStats {
  appends: number;
  flushes: number;
  failedFlushes: number;
  bytesWritten: number;
}

export interface SegmentWriterOptions {
  segmentBytes: number;
  io: SegmentIo;
  stats: SinkStats;
  onWarning: SinkWarningHandler;
}

interface Pending {
  frame: EncodedFrame;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The error every append of a failed flush rejects with. */
export const writeFailed = () =>
  unavailable(
    "The gateway could not store the profile durably (disk full or failing); retry later.",
    "sink_write_failed",
  );
/** The error appends reject with once the sink is closing. */
export const sinkClosed = () =>
  unavailable("The gateway is shutting down and no longer accepts profiles; retry later.", "sink_closed");

/**
 * The single writer of one project's segments, with group commit: frames appended while a
 * flush is in progress are written together by the next flush (one writev, one fdatasync).
 * Guarantees: `append` resolves only after the frame is written and synced; a failed flush
 * rejects every frame in it and truncates the segment back to its last synced size, so the
 * file never holds a partial frame before a later acknowledged one. Segments are rotated
 * before a flush that would take a non-empty segment past `segmentBytes`.
 */
export class SegmentWriter {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** Bytes past `size` may be on disk after a failed flush; cut before writing again. */
  private dirty = false;

  private constructor(
    private readonly projectDir: string,
    private handle: FileHandle,
    private position: SegmentPosition,
    private readonly options: SegmentWriterOptions,
  ) {}

  /** Opens (creating if needed) the segment at `position`, the end of the project's valid data. */
  static async open(projectDir: string, position: SegmentPosition, options: SegmentWriterOptions) {
    const handle = await openSegment(projectDir, position.sequence);
    return new SegmentWriter(projectDir, handle, { ...position }, options);
  }

  append(frame: EncodedFrame): Promise<void> {
    if (this.closed) return Promise.reject(sinkClosed());
    this.options.stats.appends++;
    return new Promise((resolve, reject) => {
      this.pending.push({ frame, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Flushes every frame appended before the call, then closes the file; later appends reject. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing !== null) await this.flushing;
    await this.handle.close();
  }

  private async flushLoop(): Promise<void> {
    // Let appends arriving in the same event-loop turn join the first flush.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        await this.flush(batch);
        for (const p of batch) p.resolve();
      } catch {
        for (const p of batch) p.reject(writeFailed());
      }
    }
    this.flushing = null;
  }

  private async flush(batch: Pending[]): Promise<void> {
    const buffers = batch.flatMap((p) => p.frame.buffers);
    const bytes = batch.reduce((sum, p) => sum + p.frame.byteLength, 0);
    const { stats, io, segmentBytes } = this.options;
    try {
      if (this.dirty) await this.truncateToSynced();
      if (this.position.size > 0 && this.position.size + bytes > segmentBytes) await this.rotate();
      stats.flushes++;
      await writeAll(io, this.handle, buffers, bytes, this.position.size);
      await io.datasync(this.handle);
    } catch (error) {
      stats.failedFlushes++;
      this.dirty = true;
      this.options.onWarning("The sink could not write a batch; its appends were rejected.", {
        projectDir: this.projectDir,
        segment: this.position.sequence,
        records: batch.length,
        error: String(error),
      });
      await this.truncateToSynced().catch(() => {});
      throw error;
    }
    this.position.size += bytes;
    stats.bytesWritten += bytes;
  }

  private async truncateToSynced(): Promise<void> {
    await this.handle.truncate(this.position.size);
    await this.options.io.datasync(this.handle);
    this.dirty = false;
  }

  private async rotate(): Promise<void> {
    const sequence = this.position.sequence + 1;
    const next = await openSegment(this.projectDir, sequence);
    const previous = this.handle;
    this.handle = next;
    this.position = { sequence, size: 0 };
    // The previous segment is fully synced; a failing close cannot lose data.
    await previous.close().catch(() => {});
  }
}

/** Writes all `bytes` of `buffers` at `position`, continuing after short writes. */
async function writeAll(
  io: SegmentIo,
  handle: FileHandle,
  buffers: Uint8Array[],
  bytes: number,
  position: number,
) {
  let written = await io.writev(handle, buffers, position);
  while (written < bytes) {
    const rest = remainingAfter(buffers, written);
    const n = await io.writev(handle, rest, position + written);
    if (n <= 0) throw new Error("short write");
    written += n;
  }
}

function remainingAfter(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.byteLength) {
      skip -= buffer.byteLength;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
