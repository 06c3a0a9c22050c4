/** Exponential backoff between two attempts: `base * 2^(attempt-1)`, capped, then jittered. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * The wait before attempt `attempt + 1` (attempts count from 1): between half and all of the
 * capped exponential delay ("equal jitter"), so that many waiting projects do not retry in step
 * and the wait never collapses to zero.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random) {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return exponential / 2 + (random() * exponential) / 2;
}
