import { type FileHandle, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { type EncodedFrame, FRAME_HEADER_BYTES } from "../../record-log/segment-format.js";
import { readFrameAt, readFrames } from "../../record-log/segment-reader.js";
import {
  recoverProject,
  type SegmentPosition,
  type SinkWarningHandler,
} from "../../record-log/segment-recovery.js";
import { nodeSegmentIo, SegmentWriter, type SinkStats } from "../../record-log/segment-writer.js";
import type { IngestRecord } from "../../record-log/record.js";
import { ensureDir, listSegments, segmentPath, syncDir } from "../../record-log/log-layout.js";
import { CursorFile, readCursor, type SpoolPosition } from "./spool-cursor.js";

/** The oldest undelivered record of a project, and where the one after it starts. */
export interface SpoolHead {
  record: IngestRecord;
  next: SpoolPosition;
  /** The record's size on disk, frame included. */
  frameBytes: number;
}

/** An open segment being read, and its size when last looked at. */
interface Reader {
  segment: number;
  handle: FileHandle;
  size: number;
}

/** What a project's log held when it was opened. */
export interface Backlog {
  records: number;
  bytes: number;
}

export interface ProjectLogOptions {
  segmentBytes: number;
  stats: SinkStats;
  onWarning: SinkWarningHandler;
}

/**
 * One project's spool on disk: the local sink's segment files (same format, writer, group
 * commit and torn-tail recovery) plus a durable cursor at the first undelivered record.
 * Appends go to the newest segment; the drainer reads from the cursor, one record at a time,
 * and advances it once a record is delivered. Segments wholly before the cursor are deleted;
 * the newest one never is while it can still be written.
 */
export class ProjectLog {
  private writer: Promise<SegmentWriter> | undefined;
  private reader: Reader | undefined;
  private readonly frameHead = Buffer.alloc(FRAME_HEADER_BYTES);

  private constructor(
    private readonly dir: string,
    private readonly writeAt: SegmentPosition,
    private position: SpoolPosition,
    private cursorSegment: number,
    private readonly cursor: CursorFile,
    private readonly options: ProjectLogOptions,
  ) {}

  /**
   * Opens (creating if needed) `<root>/<projectId>`: repairs a torn tail, reads the cursor,
   * deletes segments already delivered, and counts what is left to deliver.
   */
  static async open(
    root: string,
    projectId: string,
    options: ProjectLogOptions,
  ): Promise<{ log: ProjectLog; backlog: Backlog }> {
    const dir = join(root, projectId);
    if (await ensureDir(dir)) await syncDir(root);
    const writeAt = await recoverProject(dir, options.onWarning);
    const segments = await listSegments(dir);
    const oldest = segments[0] ?? writeAt.sequence;
    let position: SpoolPosition;
    const saved = await readCursor(dir);
    if (saved === "damaged") {
      options.onWarning(
        "A spool cursor is damaged; delivery restarts at the oldest spooled record (duplicates possible).",
        { dir },
      );
      position = { segment: oldest, offset: 0 };
    } else {
      position = saved ?? { segment: oldest, offset: 0 };
    }
    for (const segment of segments) {
      if (segment < position.segment) await rm(segmentPath(dir, segment), { force: true });
    }
    const cursor = await CursorFile.open(dir);
    const log = new ProjectLog(dir, writeAt, position, position.segment, cursor, options);
    return { log, backlog: await log.count() };
  }

  /** Appends one frame durably (see SegmentWriter: group commit, fdatasync, ordered). */
  async append(frame: EncodedFrame): Promise<void> {
    await (await this.writerFor()).append(frame);
  }

  /**
   * The oldest undelivered record, read from disk; undefined when there is none. A damaged
   * frame (only possible through disk corruption) is reported and the rest of its segment
   * skipped, as the local sink's reader does.
   */
  async head(): Promise<SpoolHead | undefined> {
    for (;;) {
      const { segment, offset } = this.position;
      const reader = await this.readerAt(segment);
      if (reader && offset < reader.size) {
        let frame = await readFrameAt(reader.handle, this.frameHead, offset, reader.size);
        if (frame.kind === "incomplete") {
          // The size is refreshed only when a frame seems to pass it: one stat per many records.
          reader.size = (await reader.handle.stat()).size;
          frame = await readFrameAt(reader.handle, this.frameHead, offset, reader.size);
        }
        if (frame.kind === "record") {
          return {
            record: frame.record,
            next: { segment, offset: frame.end },
            frameBytes: frame.end - frame.offset,
          };
        }
        const newest = (await listSegments(this.dir)).at(-1) ?? segment;
        if (frame.kind === "incomplete" && segment >= newest) return undefined;
        this.options.onWarning("A spool segment is damaged; the rest of it is skipped.", {
          path: segmentPath(this.dir, segment),
          offset,
          reason: frame.kind === "corrupt" ? frame.reason : "incomplete frame",
        });
      }
      const next = (await listSegments(this.dir)).find((s) => s > segment);
      if (next === undefined) return undefined;
      this.position = { segment: next, offset: 0 };
    }
  }

  /** Records `head` as delivered: the cursor moves past it durably, then used-up segments go. */
  async advance(head: SpoolHead): Promise<void> {
    await this.cursor.save(head.next);
    this.position = head.next;
    if (head.next.segment > this.cursorSegment) {
      this.cursorSegment = head.next.segment;
      if (this.reader && this.reader.segment < head.next.segment) {
        await this.reader.handle.close();
        this.reader = undefined;
      }
      for (const segment of await listSegments(this.dir)) {
        if (segment < head.next.segment) await rm(segmentPath(this.dir, segment), { force: true });
      }
    }
  }

  /** Flushes pending appends and closes every file. */
  async close(): Promise<void> {
    const writer = await this.writer?.catch(() => undefined);
    await writer?.close();
    await this.reader?.handle.close();
    this.reader = undefined;
    await this.cursor.close();
  }

  /** Counts the valid records from the cursor on, segment by segment. */
  private async count(): Promise<Backlog> {
    const backlog: Backlog = { records: 0, bytes: 0 };
    for (const segment of await listSegments(this.dir)) {
      if (segment < this.position.segment) continue;
      const handle = await open(segmentPath(this.dir, segment), "r");
      try {
        const { size } = await handle.stat();
        const from = segment === this.position.segment ? Math.min(this.position.offset, size) : 0;
        for await (const frame of readFrames(handle, from, size)) {
          if (frame.kind !== "record") break;
          backlog.records++;
          backlog.bytes += frame.end - frame.offset;
        }
      } finally {
        await handle.close();
      }
    }
    return backlog;
  }

  /** The open segment `segment` with its size as last seen; refreshed when it is used up. */
  private async readerAt(segment: number): Promise<Reader | undefined> {
    if (this.reader?.segment === segment) {
      if (this.position.offset >= this.reader.size) this.reader.size = (await this.reader.handle.stat()).size;
      return this.reader;
    }
    await this.reader?.handle.close();
    this.reader = undefined;
    let handle: FileHandle;
    try {
      handle = await open(segmentPath(this.dir, segment), "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    this.reader = { segment, handle, size: (await handle.stat()).size };
    return this.reader;
  }

  private writerFor(): Promise<SegmentWriter> {
    if (this.writer === undefined) {
      const writer = SegmentWriter.open(this.dir, this.writeAt, {
        segmentBytes: this.options.segmentBytes,
        io: nodeSegmentIo,
        stats: this.options.stats,
        onWarning: this.options.onWarning,
      });
      // A failed open (disk full, say) is retried by the next append.
      writer.catch(() => {
        if (this.writer === writer) this.writer = undefined;
      });
      this.writer = writer;
    }
    return this.writer;
  }
}
