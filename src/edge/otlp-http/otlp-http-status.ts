import { describeError, type ErrorKind, RelayedStatus } from "../../errors.js";
import { varint } from "../../rpc/protobuf-wire.js";

/** An error as an OTLP/HTTP answer: the HTTP status, the gRPC code of its `google.rpc.Status`, and the sentence. */
export interface OtlpHttpError {
  httpStatus: number;
  grpcCode: number;
  message: string;
  reason: string;
  cause?: unknown;
}

/** Each error kind as OTLP/HTTP answers it (the OTLP specification's status codes). */
const ANSWERS: Readonly<Record<ErrorKind | "internal", { httpStatus: number; grpcCode: number }>> = {
  invalid_argument: { httpStatus: 400, grpcCode: 3 },
  failed_precondition: { httpStatus: 400, grpcCode: 9 },
  unauthenticated: { httpStatus: 401, grpcCode: 16 },
  permission_denied: { httpStatus: 403, grpcCode: 7 },
  not_found: { httpStatus: 404, grpcCode: 5 },
  already_exists: { httpStatus: 409, grpcCode: 6 },
  aborted: { httpStatus: 409, grpcCode: 10 },
  resource_exhausted: { httpStatus: 429, grpcCode: 8 },
  unavailable: { httpStatus: 503, grpcCode: 14 },
  deadline_exceeded: { httpStatus: 504, grpcCode: 4 },
  internal: { httpStatus: 500, grpcCode: 13 },
};

/** gRPC codes an upstream relays, as HTTP statuses. */
const RELAYED: Readonly<Record<number, number>> = {
  3: 400,
  5: 404,
  7: 403,
  8: 429,
  9: 400,
  14: 503,
  16: 401,
  4: 504,
};

/** Anything thrown -> the OTLP/HTTP answer, in one place. */
export function toOtlpHttpError(error: unknown): OtlpHttpError {
  if (error instanceof RelayedStatus) {
    return {
      httpStatus: RELAYED[error.code] ?? 502,
      grpcCode: error.code,
      message: error.details,
      reason: error.reason,
    };
  }
  const { kind, message, reason, cause } = describeError(error);
  return { ...ANSWERS[kind], message, reason, ...(cause !== undefined ? { cause } : {}) };
}

/** `google.rpc.Status { code = 1; message = 2; }`, encoded as OTLP/HTTP's protobuf error body. */
export function encodeRpcStatus(code: number, message: string): Buffer {
  const text = Buffer.from(message, "utf8");
  return Buffer.concat([Buffer.from([0x08]), varint(code), Buffer.from([0x12]), varint(text.length), text]);
}
