import { status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ThrottledWarning } from "../throttled-warning.js";
import type { UpstreamStatus } from "../upstream-failure.js";
import { backoffDelay } from "./backoff.js";
import { deliveryVerdict } from "./delivery-verdict.js";
import type { SpoolHead } from "./project-log.js";
import type { ProjectQueue, Spool } from "./spool.js";
import { fromRecord, type SpooledCall, toRecord } from "./spooled-call.js";

/** Sends one spooled call upstream and resolves with how it ended (code OK when delivered). */
export type Deliver = (call: SpooledCall, signal: AbortSignal) => Promise<UpstreamStatus>;

export interface SpoolDrainerOptions {
  spool: Spool;
  deliver: Deliver;
  log: Logger;
  /** The longest wait between two attempts (`--spool-max-backoff`). */
  maxBackoffMs: number;
  /** The first wait; default 250 ms. */
  baseBackoffMs?: number;
  /** On close, deliveries in flight get this long to finish before they are cancelled. */
  closeGraceMs?: number;
  random?: () => number;
}

/**
 * Delivers what the spool holds: per project, in order, one record at a time; projects
 * independently of each other. A record leaves the spool only after the upstream acknowledged
 * it (or refused it for good: dead letter, see `deliveryVerdict`); while the upstream fails,
 * the project's head is retried with capped, jittered exponential backoff. A successful call
 * anywhere (`nudge`) wakes the waiting projects at once, since the upstream is evidently back.
 */
export class SpoolDrainer {
  private closed = false;
  private readonly loops: Array<Promise<void>> = [];
  private readonly sleepers = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly retryWarning: ThrottledWarning;
  private readonly credentialError: ThrottledWarning;

  constructor(private readonly options: SpoolDrainerOptions) {
    this.retryWarning = new ThrottledWarning(options.log);
    this.credentialError = new ThrottledWarning(options.log, "error");
  }

  start(): void {
    for (const queue of this.options.spool.projectQueues) this.spawn(queue);
    this.options.spool.onQueue((queue) => this.spawn(queue));
  }

  /** Ends every backoff wait now. */
  nudge(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** Stops draining; deliveries in flight finish or, after the grace, are cancelled. */
  async close(): Promise<void> {
    this.closed = true;
    this.nudge();
    for (const queue of this.options.spool.projectQueues) queue.wake();
    const timer = setTimeout(() => this.abort.abort(), this.options.closeGraceMs ?? 2000);
    await Promise.all(this.loops);
    clearTimeout(timer);
  }

  private spawn(queue: ProjectQueue): void {
    this.loops.push(
      this.drain(queue).catch((error: unknown) =>
        this.options.log.error(
          { err: error, projectId: queue.projectId },
          "the spool drainer of a project stopped; its records are delivered after a restart",
        ),
      ),
    );
  }

  private async drain(queue: ProjectQueue): Promise<void> {
    const { spool, log } = this.options;
    let attempts = 0;
    while (!this.closed) {
      if (queue.backlog.records === 0) {
        await queue.whenAvailable();
        continue;
      }
      let head: SpoolHead | undefined;
      try {
        head = await spool.head(queue);
      } catch (error) {
        log.error({ err: error, projectId: queue.projectId }, "could not read the spool; retrying");
        await this.sleep(++attempts);
        continue;
      }
      if (head === undefined) continue;
      const call = fromRecord(head.record);
      if (typeof call === "string") {
        await this.settle(queue, head, () => spool.deadLetter(queue, head, head.record), call);
        attempts = 0;
        continue;
      }
      attempts++;
      const outcome = await this.options.deliver(call, this.abort.signal);
      const verdict = deliveryVerdict(outcome, attempts);
      if (verdict === "retry") {
        this.noteRetry(queue, outcome);
        await this.sleep(attempts);
        continue;
      }
      if (verdict === "delivered") {
        if (await this.settle(queue, head, () => spool.delivered(queue, head))) this.nudge();
      } else {
        const reason = { code: outcome.code, details: outcome.details, attempts, at: Date.now() };
        await this.settle(queue, head, () => spool.deadLetter(queue, head, toRecord(call, reason)), reason);
      }
      attempts = 0;
    }
  }

  /**
   * Records the outcome of the head (`record`); if that fails the head stays, and may reach the
   * upstream twice. `refusal`: why it went to the dead letters, for the log.
   */
  private async settle(
    queue: ProjectQueue,
    head: SpoolHead,
    record: () => Promise<void>,
    refusal?: unknown,
  ): Promise<boolean> {
    const { log } = this.options;
    try {
      await record();
    } catch (error) {
      log.error(
        { err: error, projectId: queue.projectId },
        "could not record a spooled record's outcome; it will be tried again (a duplicate is possible)",
      );
      await this.sleep(1);
      return false;
    }
    if (refusal !== undefined) {
      log.warn(
        {
          projectId: queue.projectId,
          method: head.record.method,
          receivedAt: new Date(head.record.receivedAt).toISOString(),
          reason: refusal,
        },
        "the upstream refused a spooled record; it was moved to the dead letters (spool/dead-letter)",
      );
    }
    return true;
  }

  private noteRetry(queue: ProjectQueue, outcome: UpstreamStatus): void {
    const fields = {
      projectId: queue.projectId,
      code: status[outcome.code],
      reason: outcome.reason,
      details: outcome.details,
      backlogRecords: queue.backlog.records,
    };
    if (outcome.code === status.UNAUTHENTICATED || outcome.code === status.PERMISSION_DENIED) {
      // Not the records' fault: the gateway's credential or pinned project needs fixing.
      this.credentialError.warn(
        fields,
        "the upstream refuses the gateway's credential; spooled records wait until it is fixed",
      );
    } else if (!this.closed) {
      this.retryWarning.warn(fields, "the upstream is failing; spooled records wait and are retried");
    }
  }

  private sleep(attempts: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const { maxBackoffMs, baseBackoffMs = 250, random } = this.options;
    const delay = backoffDelay(attempts, { baseMs: baseBackoffMs, maxMs: maxBackoffMs }, random);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, delay);
      this.sleepers.add(wake);
    });
  }
}
