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

/**
 * The one mapping from anything thrown to the status the caller receives. DomainErrors keep
 * their message; anything else becomes a generic INTERNAL whose cause is only for the log.
 */
export function toStatus(error: unknown): CallStatus {
  if (error instanceof DomainError) {
    return { code: CODES[error.kind], details: redactTokens(error.message), reason: error.reason };
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
