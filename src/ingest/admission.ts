import type { AuthContext } from "../auth/principal.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { ProjectLimits } from "../iam/model.js";
import { capacityOf, type RateLimiter } from "../ratelimit/rate-limiter.js";

/**
 * Admits `bytes` for the caller's project, or rejects with why not; undefined when the project
 * has no limit, so that an unlimited write costs no promise.
 */
export type Admit = (auth: AuthContext, bytes: number) => Promise<void> | undefined;

const describe = (l: ProjectLimits) => `${l.bytesPerSecond} bytes/s with a burst of ${l.burstBytes} bytes`;

/**
 * Per-project ingestion rate limiting: a project's own limits, else `defaults` (none: no limit).
 * Over the limit is RESOURCE_EXHAUSTED naming it (the agent retries with backoff); a payload that
 * can never fit the bucket is INVALID_ARGUMENT, since retrying it cannot succeed.
 */
export function createAdmission(options: {
  limiter: RateLimiter;
  defaults?: ProjectLimits | undefined;
  onLimited?: (projectId: string) => void;
}): Admit {
  const take = async (auth: AuthContext, bytes: number, limits: ProjectLimits) => {
    const admission = await options.limiter.take(auth.projectId, bytes, limits);
    if (admission === "allowed") return;
    if (admission === "too_large") {
      throw invalidArgument(
        `The payload of ${bytes} bytes is larger than project ${auth.projectId}'s rate-limit bucket (${capacityOf(limits)} bytes); send smaller batches or raise the burst.`,
        "over_burst",
      );
    }
    options.onLimited?.(auth.projectId);
    throw new DomainError(
      "resource_exhausted",
      `Project ${auth.projectId} is over its ingestion rate limit of ${describe(limits)}; retry later.`,
      "rate_limited",
    );
  };
  return (auth, bytes) => {
    const own = auth.projectLimits;
    const limits = own && own.bytesPerSecond > 0 ? own : options.defaults;
    return limits ? take(auth, bytes, limits) : undefined;
  };
}
