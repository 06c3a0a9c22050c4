import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument, unavailable } from "../../errors.js";
import { LocalSink } from "../../record-log/local-sink.js";
import { encodeRecord } from "../../record-log/segment-format.js";
import type { SinkWarningHandler } from "../../record-log/segment-recovery.js";
import { type SinkStats, writeFailed } from "../../record-log/segment-writer.js";
import { DIR_MODE, isSafeProjectId, listProjects } from "../../record-log/log-layout.js";
import { readRecords } from "../../record-log/record-reader.js";
import type { SpoolPort } from "../forwarding-deps.js";
import { type Backlog, ProjectLog, type SpoolHead } from "./project-log.js";
import type { IngestRecord } from "../../record-log/record.js";
import { type SpooledCall, toRecord } from "./spooled-call.js";

/** Spool segments are rotated at 8 MiB, so delivered data is deleted soon after delivery. */
export const SPOOL_SEGMENT_BYTES = 8 * 1024 * 1024;

export interface SpoolOptions {
  /** `<data-dir>/spool`: `queue/<projectId>/` per project, `dead-letter/` beside it. */
  dir: string;
  /** The most undelivered bytes (frames included) held at once. */
  maxBytes: number;
  segmentBytes?: number;
  onWarning?: SinkWarningHandler;
}

/** What the spool holds, for metrics (`profgate_spool_backlog_records`, `..._bytes`) and the CLI. */
export interface SpoolStats {
  /** Records durably spooled and not delivered yet. */
  backlogRecords: number;
  /** Their bytes on disk, frames included; bounded by `--spool-max-bytes`. */
  backlogBytes: number;
  /** Records in the dead-letter log, those found at start included. */
  deadLetters: number;
  /** Records delivered since the start. */
  delivered: number;
  /** Projects with something to deliver. */
  projectsWithBacklog: number;
}

/** One project's queue: counters the handlers read synchronously, and its log once open. */
export class ProjectQueue {
  readonly backlog: Backlog = { records: 0, bytes: 0 };
  /** Appends decided but not yet durable: they already count for ordering and for the bound. */
  readonly pending: Backlog = { records: 0, bytes: 0 };
  private waiter: (() => void) | undefined;

  constructor(
    readonly projectId: string,
    readonly log: Promise<ProjectLog>,
  ) {}

  /** Resolves when a record is available to deliver, or at once if one is; `wake` ends it early. */
  whenAvailable(): Promise<void> {
    if (this.backlog.records > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/**
 * The store-and-forward spool: unary writes the upstream could not take, durably on disk per
 * project in order of acknowledgement, until the drainer delivers them. Bounded: an append
 * that would take the undelivered bytes past `maxBytes` is refused with UNAVAILABLE (the agent
 * retries), never dropped. Records the upstream refuses go to a dead-letter log in the local
 * sink's format (`readRecords` and `profgate spool backlog` read it). One process per folder.
 */
export class Spool implements SpoolPort {
  private readonly queues = new Map<string, ProjectQueue>();
  private readonly sinkStats: SinkStats = {
    appends: 0,
    writes: 0,
    flushes: 0,
    failedFlushes: 0,
    bytesWritten: 0,
  };
  private readonly listeners: Array<(queue: ProjectQueue) => void> = [];
  private bytes = 0;
  private deadLetters = 0;
  private deliveredCount = 0;
  private closed = false;

  private constructor(
    private readonly queueDir: string,
    private readonly deadLetterSink: LocalSink,
    private readonly options: Required<SpoolOptions>,
  ) {}

  /** Opens the spool, recovering every project's log (torn tails cut) and counting its backlog. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const settings: Required<SpoolOptions> = {
      segmentBytes: SPOOL_SEGMENT_BYTES,
      onWarning: () => {},
      ...options,
    };
    const queueDir = join(options.dir, "queue");
    await mkdir(queueDir, { recursive: true, mode: DIR_MODE });
    const deadLetterDir = join(options.dir, "dead-letter");
    const deadLetterSink = await LocalSink.open({ dir: deadLetterDir, onWarning: settings.onWarning });
    const spool = new Spool(queueDir, deadLetterSink, settings);
    for await (const entry of readRecords(deadLetterDir)) if (entry.kind === "record") spool.deadLetters++;
    for (const projectId of await listProjects(queueDir)) {
      const queue = spool.queueFor(projectId);
      await queue.log;
    }
    return spool;
  }

  holds(projectId: string): boolean {
    const queue = this.queues.get(projectId);
    return queue !== undefined && queue.backlog.records + queue.pending.records > 0;
  }

  async append(call: SpooledCall): Promise<void> {
    if (this.closed) throw unavailable("The gateway is shutting down; retry later.", "spool_closed");
    if (!isSafeProjectId(call.projectId)) {
      throw invalidArgument("The project id is not a valid identifier.", "invalid_project_id");
    }
    const frame = encodeRecord(toRecord(call));
    const size = frame.byteLength;
    if (this.bytes + size > this.options.maxBytes) {
      throw unavailable(
        "The gateway cannot reach the upstream and its spool is full; retry later.",
        "spool_full",
      );
    }
    // Counted before the first await: from here on, later writes of the project queue behind it.
    const queue = this.queueFor(call.projectId);
    queue.pending.records++;
    queue.pending.bytes += size;
    this.bytes += size;
    try {
      const log = await queue.log.catch((error: unknown) => {
        this.options.onWarning("The spool could not open a project's folder; the write was refused.", {
          projectId: call.projectId,
          error: String(error),
        });
        throw writeFailed();
      });
      await log.append(frame);
      queue.backlog.records++;
      queue.backlog.bytes += size;
      queue.wake();
    } catch (error) {
      this.bytes -= size;
      throw error;
    } finally {
      queue.pending.records--;
      queue.pending.bytes -= size;
    }
  }

  /** Every project queue, and those created later through `onQueue`. */
  get projectQueues(): ProjectQueue[] {
    return [...this.queues.values()];
  }

  onQueue(listener: (queue: ProjectQueue) => void): void {
    this.listeners.push(listener);
  }

  /** The oldest undelivered record of a project. */
  async head(queue: ProjectQueue): Promise<SpoolHead | undefined> {
    const head = await (await queue.log).head();
    if (head === undefined && queue.backlog.records > 0) {
      // Only after disk damage: what was counted cannot be read any more.
      this.options.onWarning("Spooled records could not be read back and are lost.", {
        projectId: queue.projectId,
        records: queue.backlog.records,
      });
      this.bytes -= queue.backlog.bytes;
      queue.backlog.records = 0;
      queue.backlog.bytes = 0;
    }
    return head;
  }

  /** The upstream acknowledged `head`: it leaves the spool. */
  async delivered(queue: ProjectQueue, head: SpoolHead): Promise<void> {
    await (await queue.log).advance(head);
    this.forget(queue, head);
    this.deliveredCount++;
  }

  /**
   * The upstream refused `head` for good: `record` (the call with the reason, see `toRecord`)
   * is made durable in the dead letters, then the head leaves the spool.
   */
  async deadLetter(queue: ProjectQueue, head: SpoolHead, record: IngestRecord): Promise<void> {
    await this.deadLetterSink.append(record);
    this.deadLetters++;
    await (await queue.log).advance(head);
    this.forget(queue, head);
  }

  stats(): SpoolStats {
    let backlogRecords = 0;
    let projectsWithBacklog = 0;
    for (const queue of this.queues.values()) {
      backlogRecords += queue.backlog.records;
      if (queue.backlog.records > 0) projectsWithBacklog++;
    }
    const pendingBytes = [...this.queues.values()].reduce((sum, q) => sum + q.pending.bytes, 0);
    return {
      backlogRecords,
      backlogBytes: this.bytes - pendingBytes,
      deadLetters: this.deadLetters,
      delivered: this.deliveredCount,
      projectsWithBacklog,
    };
  }

  /** Refuses new appends, waits for those in progress, and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values()) queue.wake();
    const logs = await Promise.allSettled([...this.queues.values()].map((q) => q.log));
    await Promise.all(logs.map((l) => (l.status === "fulfilled" ? l.value.close() : undefined)));
    await this.deadLetterSink.close();
  }

  private forget(queue: ProjectQueue, head: SpoolHead): void {
    queue.backlog.records = Math.max(0, queue.backlog.records - 1);
    queue.backlog.bytes = Math.max(0, queue.backlog.bytes - head.frameBytes);
    this.bytes = Math.max(0, this.bytes - head.frameBytes);
  }

  private queueFor(projectId: string): ProjectQueue {
    let queue = this.queues.get(projectId);
    if (queue === undefined) {
      const opened = ProjectLog.open(this.queueDir, projectId, {
        segmentBytes: this.options.segmentBytes,
        stats: this.sinkStats,
        onWarning: this.options.onWarning,
      });
      queue = new ProjectQueue(
        projectId,
        opened.then(({ log }) => log),
      );
      const created = queue;
      opened.then(
        ({ backlog }) => {
          created.backlog.records += backlog.records;
          created.backlog.bytes += backlog.bytes;
          this.bytes += backlog.bytes;
          if (backlog.records > 0) created.wake();
        },
        () => {
          // The folder could not be opened: forget the queue, so that the next append retries.
          if (this.queues.get(projectId) === created) this.queues.delete(projectId);
        },
      );
      this.queues.set(projectId, queue);
      for (const listener of this.listeners) listener(queue);
    }
    return queue;
  }
}
