import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServerMethodDefinition,
  status,
} from "@grpc/grpc-js";
import { type GrpcType, grpcCodeName, grpcTypeOf } from "./metric-labels.js";
import type { GrpcServerMetrics } from "./metrics.js";

/** What is known about a call once it has ended, for the one log line per call. */
export interface CallEndInfo {
  /** `/package.Service/Method` */
  path: string;
  service: string;
  method: string;
  type: GrpcType;
  /** The final status code; CANCELLED when the client went away first. */
  code: status;
  /** The status details sent to the client (safe to log: they never hold a secret). */
  details: string;
  durationSeconds: number;
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
  /** The request metadata, to look up the call's auth context; never log its values. */
  metadata: Metadata | undefined;
}

export interface GrpcMetricsInterceptorOptions {
  /** Called once per call when it ends. Must not throw: it runs on the call's way out. */
  onCallEnd?: (info: CallEndInfo) => void;
}

/** The label children of one method, resolved once: the hot path only increments. */
interface MethodMetrics {
  path: string;
  service: string;
  method: string;
  type: GrpcType;
  /** Client and bidi streams: the request is a stream of messages. */
  streamingRequest: boolean;
  started: { inc(): void };
  received: { inc(): void };
  sent: { inc(): void };
  handling: { observe(value: number): void };
  /** `handled` children by status code, resolved on first use. */
  handled: Array<{ inc(): void } | undefined>;
  labels: { grpc_type: GrpcType; grpc_service: string; grpc_method: string };
}

function resolveMethod(metrics: GrpcServerMetrics, definition: ServerMethodDefinition<unknown, unknown>) {
  const { path } = definition;
  const slash = path.lastIndexOf("/");
  const service = slash > 0 ? path.slice(1, slash) : "unknown";
  const method = slash >= 0 ? path.slice(slash + 1) : path;
  const type = grpcTypeOf(definition);
  const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
  return {
    path,
    service,
    method,
    type,
    streamingRequest: definition.requestStream,
    labels,
    started: metrics.started.labels(labels),
    received: metrics.msgReceived.labels(labels),
    sent: metrics.msgSent.labels(labels),
    handling: metrics.handlingSeconds.labels(labels),
    handled: [],
  } satisfies MethodMetrics;
}

function sizeOf(message: unknown): number {
  if (Buffer.isBuffer(message)) return message.length;
  const raw = (message as { raw?: unknown } | null)?.raw;
  return Buffer.isBuffer(raw) ? raw.length : 0;
}

/**
 * A client whose deadline passes cancels the stream, and that cancel can arrive before the
 * server's own deadline timer fires: the server's deadline started when the headers arrived,
 * later than the client's. A cancel this close to the deadline is the deadline passing.
 */
const DEADLINE_SLACK_MS = 100;

function deadlinePassed(call: ServerInterceptingCallInterface): boolean {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at <= Date.now() + DEADLINE_SLACK_MS;
}

/**
 * The server interceptor that records go-grpc-prometheus's server metrics for every call:
 * started when the call arrives, each message received and sent, and handled (with its code)
 * plus handling seconds exactly once when the call ends. Put it first in the server's
 * interceptor list: it then sits next to the transport and sees every call, including calls a
 * later interceptor refuses. A call the client cancels ends as CANCELLED; one that outlives
 * its deadline (or is cancelled within 100 ms of it) as DEADLINE_EXCEEDED. grpc-js first
 * shows a client's cancel as a half-close; the interceptor holds a half-close that is not the end of a complete unary
 * request back for one turn of the event loop, so that a dropped call ends as CANCELLED
 * without the handler acting on it. A unary call that really ended without its message gets
 * INVALID_ARGUMENT (grpc-js would answer UNIMPLEMENTED).
 */
export function grpcMetricsInterceptor(
  metrics: GrpcServerMetrics,
  options: GrpcMetricsInterceptorOptions = {},
): ServerInterceptor {
  const methods = new Map<string, MethodMetrics>();
  const { onCallEnd } = options;

  return (definition, next) => {
    let m = methods.get(definition.path);
    if (m === undefined) {
      m = resolveMethod(metrics, definition);
      methods.set(definition.path, m);
    }
    const method = m;
    method.started.inc();
    const startedAt = performance.now();
    // Read now: once the client is gone, grpc-js may no longer know its address.
    const peer = onCallEnd ? next.getPeer() : "";
    let metadata: Metadata | undefined;
    let received = 0;
    let sent = 0;
    let bytes = 0;
    let ended = false;
    /** The call ended because of the client: a cancel, its deadline, or a missing request. */
    let endedByClient = false;

    const end = (code: status, details: string) => {
      if (ended) return;
      ended = true;
      const seconds = (performance.now() - startedAt) / 1000;
      let handled = method.handled[code];
      if (handled === undefined) {
        handled = metrics.handled.labels({ ...method.labels, grpc_code: grpcCodeName(code) });
        method.handled[code] = handled;
      }
      handled.inc();
      method.handling.observe(seconds);
      if (!onCallEnd) return;
      try {
        onCallEnd({
          path: method.path,
          service: method.service,
          method: method.method,
          type: method.type,
          code,
          details,
          durationSeconds: seconds,
          peer,
          messagesReceived: received,
          messagesSent: sent,
          bytesReceived: bytes,
          abandoned: received === 0 && (endedByClient || code === status.DEADLINE_EXCEEDED),
          metadata,
        });
      } catch (error) {
        // A logging hook must never change how a call ends; surface the bug without crashing.
        process.emitWarning(`onCallEnd threw: ${String(error)}`);
      }
    };

    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((value, proceed) => {
        metadata = value;
        proceed(value);
      })
      .withOnReceiveMessage((message, proceed) => {
        received++;
        bytes += sizeOf(message);
        method.received.inc();
        proceed(message);
      })
      .withOnReceiveHalfClose((proceed) => {
        // A single-request call with its message: the common case, passed on at once.
        if (received > 0 && !method.streamingRequest) {
          proceed();
          return;
        }
        // grpc-js shows a dropped connection as a half-close just before the cancel: wait one
        // turn of the event loop for that cancel, so that an abandoned call is not answered
        // (nor a Write exchange failed) as if the client had finished sending.
        setImmediate(() => {
          // A cancel ends the call: `ended` covers it.
          if (ended) return;
          if (method.streamingRequest) proceed();
          // grpc-js would answer UNIMPLEMENTED, as if the method did not exist.
          else {
            endedByClient = true;
            call.sendStatus({
              code: status.INVALID_ARGUMENT,
              details: `${method.path} takes exactly one request message; the call ended without one.`,
            });
          }
        });
      })
      // grpc-js also cancels after every status it sent; such a call has already ended.
      .withOnCancel(() => {
        if (ended) return;
        endedByClient = true;
        if (deadlinePassed(next)) end(status.DEADLINE_EXCEEDED, "Deadline exceeded");
        else end(status.CANCELLED, "Cancelled by the client");
      })
      .build();

    const responder = new ResponderBuilder()
      .withStart((proceed) => proceed(listener))
      .withSendMessage((message, proceed) => {
        sent++;
        method.sent.inc();
        proceed(message);
      })
      .withSendStatus((value, proceed) => {
        end(value.code, value.details ?? "");
        proceed(value);
      })
      .build();

    const call = new ServerInterceptingCall(next, responder);
    return call;
  };
}
