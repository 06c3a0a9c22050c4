/**
 * What went wrong, in domain terms. The gRPC edge (`src/rpc/to-status.ts`) maps each kind to
 * one status code; nothing below the edge knows about gRPC.
 */
export type ErrorKind =
  | "invalid_argument"
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded"
  | "aborted";

/**
 * An expected failure whose message is safe to show to the caller: one plain sentence saying
 * what failed and what to do. It never contains a secret. `reason` is a short snake_case slug
 * from a closed set, used as a metric label.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly reason: string = kind,
  ) {
    super(message);
  }
}

/** Shorthand constructors, so call sites read as the rule they enforce. */
export const invalidArgument = (message: string, reason = "invalid_argument") =>
  new DomainError("invalid_argument", message, reason);
export const notFound = (message: string, reason = "not_found") =>
  new DomainError("not_found", message, reason);
export const failedPrecondition = (message: string, reason = "failed_precondition") =>
  new DomainError("failed_precondition", message, reason);
export const unavailable = (message: string, reason = "unavailable") =>
  new DomainError("unavailable", message, reason);
export const alreadyExists = (message: string, reason = "already_exists") =>
  new DomainError("already_exists", message, reason);
