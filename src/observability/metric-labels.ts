import { status } from "@grpc/grpc-js";

/**
 * The closed sets of label values profgate's metrics use. A label value outside its set would
 * create an unplanned series, so values that come from elsewhere (error reasons, status codes)
 * pass through one of the functions below, which folds anything unexpected into a fixed value.
 */

/** The canonical name of every status code (`OK`, `UNAUTHENTICATED`, ...), indexed by code. */
const CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, code) => status[code] ?? "UNKNOWN");

/** `grpc_code`: the canonical upper-case name of a status code; `UNKNOWN` for a non-standard number. */
export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? "UNKNOWN";
}

/** The reasons an auth decision is recorded with: `allowed`, or why the call was refused. */
export const AUTH_REASONS = [
  "allowed",
  "missing_token",
  "malformed_token",
  "unknown_token",
  "expired_token",
  "missing_project",
  "malformed_project",
  "permission_denied",
  "address_not_allowed",
  "too_many_failures",
  "too_much_metadata",
  "memory_pressure",
  "store_unavailable",
  "internal",
] as const;
export type AuthReason = (typeof AUTH_REASONS)[number];

const AUTH_REASON_SET: ReadonlySet<string> = new Set(AUTH_REASONS);

/** A decision's reason as a label; a reason outside the set counts as `internal`. */
export function authReasonLabel(reason: string): AuthReason {
  return AUTH_REASON_SET.has(reason) ? (reason as AuthReason) : "internal";
}

/** What the authenticator's cache reports (see `CacheEvent` in src/auth/authenticator.ts). */
export const AUTH_CACHE_EVENTS = ["hit", "miss", "negative_hit", "stale", "invalidation"] as const;
export type AuthCacheEvent = (typeof AUTH_CACHE_EVENTS)[number];

/** How a debuginfo upload ended: stored, refused (bad request, already present), or failed inside. */
export const DEBUGINFO_UPLOAD_RESULTS = ["ok", "rejected", "failed"] as const;
export type DebuginfoUploadResult = (typeof DEBUGINFO_UPLOAD_RESULTS)[number];
