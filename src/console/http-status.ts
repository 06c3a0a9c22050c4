import { describeError, type ErrorKind } from "../errors.js";

/**
 * Each error kind as the console's JSON API answers it: the HTTP status (as Google's HTTP/JSON
 * transcoding maps the matching gRPC code) and that gRPC code's name, so that the console and
 * the admin API name a failure alike.
 */
const ANSWERS: Readonly<Record<ErrorKind | "internal", { httpStatus: number; code: string }>> = {
  invalid_argument: { httpStatus: 400, code: "INVALID_ARGUMENT" },
  failed_precondition: { httpStatus: 400, code: "FAILED_PRECONDITION" },
  unauthenticated: { httpStatus: 401, code: "UNAUTHENTICATED" },
  permission_denied: { httpStatus: 403, code: "PERMISSION_DENIED" },
  not_found: { httpStatus: 404, code: "NOT_FOUND" },
  already_exists: { httpStatus: 409, code: "ALREADY_EXISTS" },
  aborted: { httpStatus: 409, code: "ABORTED" },
  resource_exhausted: { httpStatus: 429, code: "RESOURCE_EXHAUSTED" },
  unavailable: { httpStatus: 503, code: "UNAVAILABLE" },
  deadline_exceeded: { httpStatus: 504, code: "DEADLINE_EXCEEDED" },
  internal: { httpStatus: 500, code: "INTERNAL" },
};

/** An error as the console's JSON API answers it. */
export interface HttpError {
  httpStatus: number;
  body: { error: string; code: string };
  /** For the log: the closed-set reason slug, and the cause of an unexpected error. */
  reason: string;
  cause?: unknown;
}

/**
 * Anything thrown -> the HTTP answer, in one place: a DomainError keeps its sentence (tokens
 * redacted); anything else is a generic 500 whose cause goes to the log only, never a stack
 * trace to the browser.
 */
export function toHttpError(error: unknown): HttpError {
  const { kind, message, reason, cause } = describeError(error);
  const answer = ANSWERS[kind];
  return {
    httpStatus: answer.httpStatus,
    body: { error: message, code: answer.code },
    reason,
    ...(cause !== undefined ? { cause } : {}),
  };
}
