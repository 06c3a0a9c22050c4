import type { ProjectLimits } from "../iam/model.js";

/** The outcome of asking for `bytes` of a project's budget. */
export type Admission = "allowed" | "limited" | "too_large";

/**
 * Per-project token buckets of bytes: `bytesPerSecond` refill a bucket that holds one second's
 * worth plus `burstBytes`. Implementations share state across replicas or not, but all decide
 * alike.
 */
export interface RateLimiter {
  take(projectId: string, bytes: number, limits: ProjectLimits): Promise<Admission>;
  close(): Promise<void>;
}

/** How many bytes a project's bucket holds. */
export const capacityOf = (limits: ProjectLimits) => limits.bytesPerSecond + limits.burstBytes;

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets in this process's memory: for a single gateway (the embedded store). */
export class LocalRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  async take(projectId: string, bytes: number, limits: ProjectLimits): Promise<Admission> {
    const capacity = capacityOf(limits);
    if (bytes > capacity) return "too_large";
    const now = this.now();
    const bucket = this.buckets.get(projectId) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * limits.bytesPerSecond) / 1000);
    bucket.at = now;
    this.buckets.set(projectId, bucket);
    if (bucket.tokens < bytes) return "limited";
    bucket.tokens -= bytes;
    return "allowed";
  }

  async close(): Promise<void> {}
}
