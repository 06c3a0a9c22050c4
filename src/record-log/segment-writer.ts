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

/**
 * Counters shared by a sink's writers: `flushes` counts fdatasync calls (successful or not),
 * `writes` the writev batches; `appends / flushes` is the calls per fsync.
 */
export interface SinkStats {
  appends: number;
  writes: number;
  flushes: number;
  failedFlushes: number;
  bytesWritten: number;
}

export interface SegmentWriterOptions {
  segmentBytes: number;
  io: SegmentIo;
  stats: SinkStats;
  onWarning: SinkWarningHandler;
  /** Told of every fdatasync that succeeded. */
  onFsync?: (() => void) | undefined;
}

interface Pending {
  frame: EncodedFrame;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A batch written to the file and waiting for the fdatasync that makes it durable. */
interface Written {
  batch: Pending[];
  /** The file's size once this batch is on disk. */
  end: number;
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
 * The single writer of one project's segments, with pipelined group commit: frames appended
 * while a batch is being written are written together as the next batch (one writev), at once,
 * without waiting for the previous batch's fdatasync; every batch written while a sync runs is
 * made durable by the next one (one fdatasync for all of them).
 *
 * Guarantees: `append` resolves only after the frame is written and synced, in the order of
 * arrival; a failed write or sync rejects its frames and every frame written after them (they
 * follow data that may not be on disk) and truncates the segment back to its last synced size,
 * so the file never holds a partial frame before a later acknowledged one. Segments are rotated,
 * with nothing left unsynced, before a batch that would take a non-empty segment past
 * `segmentBytes`.
 */
export class SegmentWriter {
  private pending: Pending[] = [];
  private unsynced: Written[] = [];
  private writing: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  /** The writev under way, if any: the file is cut only once it has ended. */
  private inflightWrite: Promise<void> | null = null;
  private closed = false;
  /** The file's size with every written batch: `position.size` (synced) plus what awaits a sync. */
  private writtenSize: number;
  /** Bytes past `position.size` may be on disk after a failure; cut before writing again. */
  private dirty = false;
  /** Counts failures: a batch written across one follows data that may be lost. */
  private epoch = 0;

  private constructor(
    private readonly projectDir: string,
    private handle: FileHandle,
    private position: SegmentPosition,
    private readonly options: SegmentWriterOptions,
  ) {
    this.writtenSize = position.size;
  }

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
      this.writing ??= this.writeLoop();
    });
  }

  /** Flushes every frame appended before the call, then closes the file; later appends reject. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing !== null || this.syncing !== null) await (this.writing ?? this.syncing);
    await this.handle.close();
  }

  /** Stage one: writes what was appended, batch after batch, handing each to the sync stage. */
  private async writeLoop(): Promise<void> {
    // Let appends arriving in the same event-loop turn join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      const bytes = batch.reduce((sum, p) => sum + p.frame.byteLength, 0);
      const epoch = this.epoch;
      try {
        if (this.dirty) await this.cutToSynced();
        if (this.writtenSize > 0 && this.writtenSize + bytes > this.options.segmentBytes) await this.rotate();
        this.options.stats.writes++;
        this.inflightWrite = writeAll(
          this.options.io,
          this.handle,
          batch.flatMap((p) => p.frame.buffers),
          bytes,
          this.writtenSize,
        );
        await this.inflightWrite;
      } catch (error) {
        this.inflightWrite = null;
        this.epoch++;
        this.dirty = true;
        await this.cutToSynced().catch(() => {});
        this.failed(batch, error);
        continue;
      }
      this.inflightWrite = null;
      if (this.epoch !== epoch) {
        // A sync failed while this batch was being written: it follows data that may be lost.
        this.dirty = true;
        for (const p of batch) p.reject(writeFailed());
        continue;
      }
      this.writtenSize += bytes;
      this.unsynced.push({ batch, end: this.writtenSize });
      this.syncing ??= this.syncLoop();
    }
    this.writing = null;
  }

  /** Stage two: one fdatasync for every batch written since the last one, then their answers. */
  private async syncLoop(): Promise<void> {
    while (this.unsynced.length > 0) {
      const group = this.unsynced.splice(0);
      const end = group[group.length - 1]!.end;
      this.options.stats.flushes++;
      try {
        await this.options.io.datasync(this.handle);
      } catch (error) {
        this.epoch++;
        this.dirty = true;
        // Whatever was written after the group follows data that may not be on disk.
        const lost = [...group, ...this.unsynced.splice(0)].flatMap((w) => w.batch);
        await this.inflightWrite?.catch(() => {});
        await this.cut().catch(() => {});
        this.failed(lost, error);
        continue;
      }
      this.options.onFsync?.();
      this.options.stats.bytesWritten += end - this.position.size;
      this.position.size = end;
      for (const written of group) for (const p of written.batch) p.resolve();
    }
    this.syncing = null;
  }

  /** Counts and reports a failed batch, and rejects its appends. */
  private failed(frames: Pending[], error: unknown): void {
    this.options.stats.failedFlushes++;
    this.options.onWarning("The sink could not write a batch; its appends were rejected.", {
      projectDir: this.projectDir,
      segment: this.position.sequence,
      records: frames.length,
      error: String(error),
    });
    for (const p of frames) p.reject(writeFailed());
  }

  /** Once the sync stage has settled, cuts the file back to what was synced. */
  private async cutToSynced(): Promise<void> {
    while (this.syncing !== null) await this.syncing;
    if (this.dirty) await this.cut();
  }

  private async cut(): Promise<void> {
    await this.handle.truncate(this.position.size);
    await this.options.io.datasync(this.handle);
    this.writtenSize = this.position.size;
    this.dirty = false;
  }

  private async rotate(): Promise<void> {
    // Nothing of the current segment may be left without its sync.
    while (this.syncing !== null) await this.syncing;
    if (this.dirty) await this.cut();
    const sequence = this.position.sequence + 1;
    const next = await openSegment(this.projectDir, sequence);
    const previous = this.handle;
    this.handle = next;
    this.position = { sequence, size: 0 };
    this.writtenSize = 0;
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
