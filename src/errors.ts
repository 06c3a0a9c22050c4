import { redactTokens } from "./token/redact.js";

/**
 * What went wrong, in domain terms. The gRPC edge (`src/edge/to-status.ts`) maps each kind to
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
  readonly kind: ErrorKind;
  readonly reason: string;
  constructor(kind: ErrorKind, message: string, reason: string = kind) {
    // An expected refusal (a junk token, a refused write) is made on every such call: capturing
    // a stack for it would cost more than the rest of the refusal, and nobody reads it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.kind = kind;
    this.reason = reason;
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

/** What any thrown value means to a caller, before a transport turns it into a status. */
export interface ErrorDescription {
  /** A DomainError's kind; `internal` for anything unexpected. */
  kind: ErrorKind | "internal";
  /** Safe to send: a DomainError's sentence with tokens redacted, or a generic one. */
  message: string;
  /** The closed-set slug for metrics and logs. */
  reason: string;
  /** Set for unexpected errors and storage failures: the cause to log, never to send. */
  cause?: unknown;
}

/** Node errno codes meaning the disk cannot take a write now (full, read-only, failing). */
const STORAGE_UNAVAILABLE = new Set(["ENOSPC", "EDQUOT", "EROFS", "EIO"]);
/** Node errno codes meaning the process (or the system) has no file descriptor left. */
const OUT_OF_FILES = new Set(["EMFILE", "ENFILE"]);

/**
 * The one classification of anything thrown. DomainErrors keep their sentence; a file system
 * that cannot take a write is `unavailable` (retrying later can succeed); anything else is
 * `internal` with a generic sentence. The gRPC edge and the console's HTTP API each map the kind
 * to their status in one table.
 */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof DomainError) {
    return { kind: error.kind, message: redactTokens(error.message), reason: error.reason };
  }
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === "string" && OUT_OF_FILES.has(errno)) {
    return {
      kind: "unavailable",
      message: "The gateway has no file descriptor left to serve this call; retry later.",
      reason: "out_of_files",
      cause: error,
    };
  }
  if (typeof errno === "string" && STORAGE_UNAVAILABLE.has(errno)) {
    return {
      kind: "unavailable",
      message: "The gateway could not store the data (disk full or failing); retry later.",
      reason: "storage_unavailable",
      cause: error,
    };
  }
  return {
    kind: "internal",
    message: "Internal error; see the gateway's log.",
    reason: "internal",
    cause: error,
  };
}

/**
 * A status another gRPC server answered, passed on to the caller as it is (forwarding to an
 * upstream). `code` is the gRPC status code; `details` are already scrubbed of credentials.
 */
export class RelayedStatus extends Error {
  override readonly name = "RelayedStatus";
  constructor(
    readonly code: number,
    readonly details: string,
    readonly reason = "upstream",
  ) {
    super(details);
  }
}
