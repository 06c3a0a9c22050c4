import { type Metadata, type StatusObject, status } from "@grpc/grpc-js";
import { DomainError, type ErrorKind } from "../errors.js";
import { redactTokens } from "../token/redact.js";

const CODES: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  aborted: status.ABORTED,
};

/** A gRPC status with the `reason` slug that metrics and logs use. */
export interface CallStatus {
  code: status;
  details: string;
  reason: string;
  /** Set for unexpected errors: the cause to log, never to send. */
  cause?: unknown;
}

/** Node errno codes meaning the disk cannot take a write now (full, read-only, failing, out of files). */
const STORAGE_UNAVAILABLE = new Set(["ENOSPC", "EDQUOT", "EROFS", "EIO", "EMFILE", "ENFILE"]);

/**
 * The one mapping from anything thrown to the status the caller receives. DomainErrors keep
 * their message; a file system that cannot take a write is UNAVAILABLE (retrying later can
 * succeed); anything else becomes a generic INTERNAL. The cause of both is only for the log.
 */
export function toStatus(error: unknown): CallStatus {
  if (error instanceof DomainError) {
    return { code: CODES[error.kind], details: redactTokens(error.message), reason: error.reason };
  }
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === "string" && STORAGE_UNAVAILABLE.has(errno)) {
    return {
      code: status.UNAVAILABLE,
      details: "The gateway could not store the data (disk full or failing); retry later.",
      reason: "storage_unavailable",
      cause: error,
    };
  }
  return {
    code: status.INTERNAL,
    details: "Internal error; see the gateway's log.",
    reason: "internal",
    cause: error,
  };
}

/** The shape grpc-js callbacks take. */
export function toServiceError(error: unknown): Partial<StatusObject> & { metadata?: Metadata } {
  const { code, details } = toStatus(error);
  return { code, details };
}
