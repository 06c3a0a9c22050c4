import { status } from "@grpc/grpc-js";
import { grpcCodeName } from "../observability/metric-labels.js";
import { toStatus } from "../rpc/to-status.js";

/** gRPC code -> HTTP status, as Google's HTTP/JSON transcoding maps them. */
const HTTP_STATUS: Readonly<Partial<Record<status, number>>> = {
  [status.OK]: 200,
  [status.INVALID_ARGUMENT]: 400,
  [status.FAILED_PRECONDITION]: 400,
  [status.OUT_OF_RANGE]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.ABORTED]: 409,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.UNIMPLEMENTED]: 501,
  [status.UNAVAILABLE]: 503,
  [status.DEADLINE_EXCEEDED]: 504,
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
 * Anything thrown -> the HTTP answer, through the gateway's one error mapping (`toStatus`): a
 * DomainError keeps its sentence (tokens redacted); anything else is a generic 500 whose cause
 * goes to the log only, never a stack trace to the browser.
 */
export function toHttpError(error: unknown): HttpError {
  const { code, details, reason, cause } = toStatus(error);
  return {
    httpStatus: HTTP_STATUS[code] ?? 500,
    body: { error: details, code: grpcCodeName(code) },
    reason,
    ...(cause !== undefined ? { cause } : {}),
  };
}
