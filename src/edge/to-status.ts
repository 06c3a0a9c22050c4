import { status } from "@grpc/grpc-js";
import { describeError, type ErrorKind, RelayedStatus } from "../errors.js";

const CODES: Record<ErrorKind | "internal", status> = {
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
  internal: status.INTERNAL,
};

/** A gRPC status with the `reason` slug that metrics and logs use. */
export interface CallStatus {
  code: status;
  details: string;
  reason: string;
  /** Set for unexpected errors: the cause to log, never to send. */
  cause?: unknown;
}

/**
 * The one mapping from anything a handler or guard throws to the status the caller receives:
 * the error's kind (`describeError`) through one table; a status relayed from an upstream
 * passes unchanged.
 */
export function toStatus(error: unknown): CallStatus {
  if (error instanceof RelayedStatus) {
    return { code: error.code as status, details: error.details, reason: error.reason };
  }
  const { kind, message, reason, cause } = describeError(error);
  return { code: CODES[kind], details: message, reason, ...(cause !== undefined ? { cause } : {}) };
}
