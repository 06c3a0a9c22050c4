import type { IamStore, TokenUse } from "../iam/store/iam-store.js";

export interface UsageRecorderOptions {
  store: Pick<IamStore, "recordTokenUses">;
  /** A token's use is recorded at most once per this interval per process. */
  coalesceMs?: number;
  /** How often queued uses are written to the store, in one batch. */
  flushIntervalMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

/**
 * Records tokens' last-used dates off the request path: `note` only touches memory; a timer
 * writes the queued uses in one batch. Failed batches are kept and retried with the next.
 */
export class UsageRecorder {
  private readonly lastNoted = new Map<string, number>();
  private queue = new Map<string, TokenUse>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  private readonly coalesceMs: number;
  private readonly now: () => number;

  constructor(private readonly options: UsageRecorderOptions) {
    this.coalesceMs = options.coalesceMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 10_000);
    this.timer.unref();
  }

  note(tokenId: string, organizationId: string): void {
    const at = this.now();
    const last = this.lastNoted.get(tokenId);
    if (last !== undefined && at - last < this.coalesceMs) return;
    this.lastNoted.set(tokenId, at);
    this.queue.set(tokenId, { tokenId, organizationId, at });
    if (this.lastNoted.size > 200_000) this.lastNoted.clear();
  }

  /** Writes what is queued; resolves when done (errors go to `onError`, the uses stay queued). */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.size === 0) return;
    const batch = this.queue;
    this.queue = new Map();
    this.flushing = this.options.store
      .recordTokenUses([...batch.values()])
      .catch((error: unknown) => {
        for (const [id, use] of batch) if (!this.queue.has(id)) this.queue.set(id, use);
        this.options.onError?.(error);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
