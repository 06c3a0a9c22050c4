import type { status } from "@grpc/grpc-js";

/** `grpc_type`, as go-grpc-prometheus names the four kinds of method. */
export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** The kind of a method from its definition's streaming flags. */
export function grpcTypeOf(method: { requestStream: boolean; responseStream: boolean }): GrpcType {
  if (method.requestStream) return method.responseStream ? "bidi_stream" : "client_stream";
  return method.responseStream ? "server_stream" : "unary";
}

/** A method as the edge sees it, resolved once per method path. */
export interface MethodInfo {
  /** `/package.Service/Method` */
  path: string;
  service: string;
  method: string;
  type: GrpcType;
  /** Client and bidi streams: the request is a stream of messages. */
  streamingRequest: boolean;
}

/** `MethodInfo` of a grpc-js method definition. */
export function methodInfo(definition: {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}): MethodInfo {
  const { path } = definition;
  const slash = path.lastIndexOf("/");
  return {
    path,
    service: slash > 0 ? path.slice(1, slash) : "unknown",
    method: slash >= 0 ? path.slice(slash + 1) : path,
    type: grpcTypeOf(definition),
    streamingRequest: definition.requestStream,
  };
}

/** Who made a call, as far as logs and guards need to know: identifiers only, never a secret. */
export interface CallIdentity {
  organizationId: string;
  projectId: string;
  serviceAccountId: string;
  tokenId: string;
}

/** What is known about a call once it has ended: the edge's one event per call. */
export interface CallEnd {
  method: MethodInfo;
  /** The final status code; CANCELLED when the client went away first. */
  code: status;
  /** The status details sent to the client (safe to log: they never hold a secret). */
  details: string;
  durationSeconds: number;
  /** `host:port` of the client, read when the call started. */
  peer: string;
  messagesReceived: number;
  messagesSent: number;
  /** Request bytes, counted for messages that are Buffers or carry their `raw` bytes; else 0. */
  bytesReceived: number;
  /**
   * No request message arrived before the call ended by the client's doing: it cancelled the call
   * (or dropped its connection), let its deadline pass, or half-closed a single-request call
   * without its message.
   */
  abandoned: boolean;
  /** The caller, when the call passed authentication; undefined for refused and public calls. */
  caller: CallIdentity | undefined;
}

/**
 * What watches one method's calls. The edge asks each observer once per method path and calls
 * what it returns on every call of that method: the hot path never looks up a label set.
 */
export interface MethodObserver {
  started?(): void;
  received?(): void;
  sent?(): void;
  ended?(end: CallEnd): void;
}

/** A subscriber to the edge's call events (metrics, the call log, per-address guards). */
export interface CallObserver {
  forMethod(method: MethodInfo): MethodObserver;
}
