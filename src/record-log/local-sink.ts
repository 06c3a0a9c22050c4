import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument } from "../errors.js";
import { encodeRecord } from "./segment-format.js";
import { recoverProject, type SegmentPosition, type SinkWarningHandler } from "./segment-recovery.js";
import {
  nodeSegmentIo,
  type SegmentIo,
  SegmentWriter,
  type SinkStats,
  sinkClosed,
  writeFailed,
} from "./segment-writer.js";
import type { IngestRecord } from "./record.js";
import { DIR_MODE, ensureDir, isSafeProjectId, listProjects, syncDir } from "./log-layout.js";

export type { SinkStats } from "./segment-writer.js";
export type { SinkWarningHandler } from "./segment-recovery.js";

/** 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface LocalSinkOptions {
  /** The sink's root, e.g. `<data-dir>/sink`; created (mode 0700) if missing. */
  dir: string;
  /** A segment is rotated before a flush would take it past this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Told about repaired torn tails, skipped corrupt segments and failed writes. */
  onWarning?: SinkWarningHandler;
  /** Told of every fdatasync that succeeded (e.g. to count them). */
  onFsync?: () => void;
  /** @internal Test seam for injecting write and sync failures. */
  io?: SegmentIo;
}

/**
 * A durable, append-only log of accepted writes on the local disk: one directory per project,
 * holding checksummed segment files (format: `segment-format.ts`).
 *
 * Guarantees: `append` resolves only after the record is written and fdatasynced, and a
 * resolved record is never lost; concurrent appends to a project share one write and one sync
 * (group commit) and keep their order of arrival; projects flush independently. A failed write
 * or sync rejects the appends of that flush with `unavailable` (reason `sink_write_failed`) and
 * leaves the log as it was before them. Opening repairs torn tails left by a crash.
 * The directory must be owned by one LocalSink at a time (not enforced across processes).
 */
export class LocalSink {
  private readonly writers = new Map<string, Promise<SegmentWriter>>();
  private readonly counters: SinkStats = {
    appends: 0,
    writes: 0,
    flushes: 0,
    failedFlushes: 0,
    bytesWritten: 0,
  };
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly recovered: Map<string, SegmentPosition>,
    private readonly segmentBytes: number,
    private readonly onWarning: SinkWarningHandler,
    private readonly io: SegmentIo,
    private readonly onFsync: (() => void) | undefined,
  ) {}

  /** Creates the directory if needed and recovers each project's last segment; see {@link LocalSink}. */
  static async open(options: LocalSinkOptions): Promise<LocalSink> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    const onWarning = options.onWarning ?? (() => {});
    await mkdir(options.dir, { recursive: true, mode: DIR_MODE });
    const recovered = new Map<string, SegmentPosition>();
    for (const projectId of await listProjects(options.dir)) {
      recovered.set(projectId, await recoverProject(join(options.dir, projectId), onWarning));
    }
    return new LocalSink(
      options.dir,
      recovered,
      segmentBytes,
      onWarning,
      options.io ?? nodeSegmentIo,
      options.onFsync,
    );
  }

  /** A snapshot of the counters; `flushes < appends` shows that group commit batches. */
  get stats(): Readonly<SinkStats> {
    return { ...this.counters };
  }

  async append(record: IngestRecord): Promise<void> {
    if (this.closed) throw sinkClosed();
    if (!isSafeProjectId(record.projectId)) {
      throw invalidArgument("The record's project id is not a valid identifier.", "invalid_project_id");
    }
    const frame = encodeRecord(record);
    let writer: SegmentWriter;
    try {
      writer = await this.writerFor(record.projectId);
    } catch (error) {
      this.onWarning("The sink could not open a project's segment; the append was rejected.", {
        projectId: record.projectId,
        error: String(error),
      });
      throw writeFailed();
    }
    await writer.append(frame);
  }

  /** Waits for every append made before the call to settle, then closes all segment files. */
  async close(): Promise<void> {
    this.closed = true;
    const writers = await Promise.allSettled(this.writers.values());
    await Promise.all(writers.map((w) => (w.status === "fulfilled" ? w.value.close() : undefined)));
  }

  private writerFor(projectId: string): Promise<SegmentWriter> {
    let writer = this.writers.get(projectId);
    if (writer === undefined) {
      writer = this.openWriter(projectId);
      // A failed open (e.g. disk full creating the directory) is retried by the next append.
      writer.catch(() => this.writers.delete(projectId));
      this.writers.set(projectId, writer);
    }
    return writer;
  }

  private async openWriter(projectId: string): Promise<SegmentWriter> {
    const projectDir = join(this.dir, projectId);
    let position = this.recovered.get(projectId);
    if (position === undefined) {
      if (await ensureDir(projectDir)) await syncDir(this.dir);
      position = { sequence: 1, size: 0 };
    }
    return SegmentWriter.open(projectDir, position, {
      segmentBytes: this.segmentBytes,
      io: this.io,
      stats: this.counters,
      onWarning: this.onWarning,
      onFsync: this.onFsync,
    });
  }
}
