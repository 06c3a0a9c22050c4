import { EventEmitter } from "node:events";
import { constants as http2Constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { Metadata, type ServerErrorResponse, status } from "@grpc/grpc-js";
import { attachAuthContext } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import type { Admit } from "../ingest/admission.js";
import { callerOf, leftByClient, type MethodHooks, reportEnd } from "./call-observer.js";
import { ACCEPTED_ENCODINGS, oversizeDetails } from "./grpc-internals.js";
import { MEMORY_SHEDDING } from "./guards/memory-guard.js";
import type { PendingBound, PendingBytes } from "./guards/pending-bytes.js";
import { pendingShare } from "./intake.js";
import { toStatus } from "./to-status.js";

/** A unary method's handler as the edge binds it: errors already mapped to statuses. */
export type UnaryHandler = (
  call: LaneCall,
  callback: (error: ServerErrorResponse | null, value?: unknown) => void,
) => void;

/** A unary method served on the lane: its codec, its handler and its bounds. */
export interface LaneMethod {
  hooks: MethodHooks;
  deserialize: (bytes: Buffer) => unknown;
  serialize: (value: unknown) => Buffer;
  handler: UnaryHandler;
  /** The largest request message accepted, in bytes. */
  maxMessageBytes: number;
}

/** What the lane enforces besides the method's own bounds: the edge's guards and hooks. */
export interface LaneOptions {
  /** Admission: every method on the lane is an admitted one. */
  admit?: Admit | undefined;
  onAdmissionRefused?: ((path: string, reason: string) => void) | undefined;
  pending?: PendingBytes | undefined;
  groupOf: (address: string) => string;
  onPendingRefused?: ((bound: PendingBound, address: string) => void) | undefined;
  /** Whether new calls of `path` are shed now (the memory guard). */
  sheds?: ((path: string) => boolean) | undefined;
  /** Tells grpc-js that its connection has a call open (its idle timer counts streams). */
  opened?: ((stream: ServerHttp2Stream) => void) | undefined;
}

/**
 * The call a handler sees on the lane: what the edge's unary handlers read of a grpc-js
 * `ServerUnaryCall` (the request, the metadata that carries the caller, the peer, the deadline,
 * and `cancelled`).
 */
export class LaneCall extends EventEmitter {
  cancelled = false;
  constructor(
    readonly request: unknown,
    readonly metadata: Metadata,
    private readonly peer: string,
    private readonly deadline: number,
  ) {
    super();
  }
  getPeer(): string {
    return this.peer;
  }
  getDeadline(): number {
    return this.deadline;
  }
}

const TIMEOUT_UNITS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * The deadline of a call the lane can serve (ms since the epoch; Infinity without a
 * `grpc-timeout`), or undefined for one it leaves to grpc-js: a compressed message or a
 * malformed `grpc-timeout`.
 */
export function laneDeadline(headers: IncomingHttpHeaders): number | undefined {
  const encoding = headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return undefined;
  const timeout = headers["grpc-timeout"];
  if (timeout === undefined) return Number.POSITIVE_INFINITY;
  const match = typeof timeout === "string" ? /^(\d{1,8})([HMSmun])$/.exec(timeout) : null;
  if (!match) return undefined;
  return Date.now() + Number(match[1]) * (TIMEOUT_UNITS[match[2] as string] as number);
}

const RESPONSE_HEADERS = {
  ":status": 200,
  "content-type": "application/grpc+proto",
  "grpc-encoding": "identity",
  "grpc-accept-encoding": ACCEPTED_ENCODINGS,
};

/**
 * Serves one allowed unary call of an admitted method on its HTTP/2 stream, without a grpc-js
 * call: the one length-prefixed message is assembled from the DATA frames, bounded as the edge
 * bounds every call (the method's message limit at the length prefix, the incomplete-message
 * bytes, the memory guard, admission), decoded with the method's codec and handed to its bound
 * handler; the answer goes back as grpc-js would send it, with the same statuses for the same
 * cases (docs/iam-model.md). The call's events reach the same observers. Only identity-encoded
 * calls come here, with their `deadline` (`laneDeadline`); compressed ones go through grpc-js.
 */
export function serveOnLane(
  stream: ServerHttp2Stream,
  deadline: number,
  context: AuthContext,
  method: LaneMethod,
  peer: string,
  options: LaneOptions,
): void {
  const { hooks } = method;
  const path = hooks.info.path;
  const startedAt = performance.now();
  hooks.started();
  options.opened?.(stream);
  const chunks: Buffer[] = [];
  let have = 0;
  /** The announced message length; -1 until the length prefix is in. */
  let length = -1;
  let received = 0;
  let bytesReceived = 0;
  let sent = 0;
  let ended = false;
  let endedByClient = false;
  let call: LaneCall | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pending = pendingShare(options, peer);
  const gone = () => stream.closed || stream.destroyed;

  const end = (code: status, details: string) => {
    if (ended) return;
    ended = true;
    if (timer !== undefined) clearTimeout(timer);
    pending?.release();
    reportEnd(hooks, {
      code,
      details,
      startedAt,
      peer,
      received,
      sent,
      bytes: bytesReceived,
      endedByClient,
      caller: callerOf(context),
    });
  };

  /** Tells a running handler that its call is over (grpc-js's `cancelled` event). */
  const cancelHandler = () => {
    if (!call || call.cancelled) return;
    call.cancelled = true;
    call.emit("cancelled");
  };

  /** Ends the call with a status and nothing else; a client still sending is reset (CANCEL). */
  const fail = (code: status, details: string) => {
    if (ended) return;
    end(code, details);
    if (gone()) return;
    const trailers = { "grpc-status": String(code), "grpc-message": encodeURI(details) };
    if (stream.headersSent) {
      stream.close(http2Constants.NGHTTP2_CANCEL);
      return;
    }
    stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
    // A client still sending is reset once the status is out (a reset submitted with it could
    // overtake it), so that it cannot keep the call and its bytes alive.
    if (!stream.readableEnded)
      setImmediate(() => stream.closed || stream.close(http2Constants.NGHTTP2_CANCEL));
  };

  const answer = (response: Buffer) => {
    if (ended) return;
    sent = 1;
    hooks.sent();
    end(status.OK, "OK");
    if (gone()) return;
    const frame = Buffer.allocUnsafe(5 + response.length);
    frame[0] = 0;
    frame.writeUInt32BE(response.length, 1);
    response.copy(frame, 5);
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "OK" }));
    stream.end(frame);
  };

  const handle = (message: Buffer) => {
    let request: unknown;
    try {
      request = method.deserialize(message);
    } catch {
      fail(status.INTERNAL, "Error deserializing request");
      return;
    }
    const metadata = new Metadata();
    attachAuthContext(metadata, context);
    call = new LaneCall(request, metadata, peer, deadline);
    method.handler(call, (error, value) => {
      if (ended) return;
      if (error) {
        fail(error.code ?? status.UNKNOWN, error.details ?? error.message ?? "");
        return;
      }
      let response: Buffer;
      try {
        response = method.serialize(value);
      } catch {
        fail(status.INTERNAL, "Failed to serialize response");
        return;
      }
      answer(response);
    });
  };

  const admitThenHandle = (message: Buffer) => {
    let waiting: Promise<void> | undefined;
    try {
      waiting = options.admit?.(context, message.length);
    } catch (error) {
      refuseAdmission(error);
      return;
    }
    if (waiting === undefined) handle(message);
    else waiting.then(() => (ended ? undefined : handle(message)), refuseAdmission);
  };

  const refuseAdmission = (error: unknown) => {
    if (ended) return;
    const refusal = toStatus(error);
    options.onAdmissionRefused?.(path, refusal.reason);
    fail(refusal.code, refusal.details);
  };

  const prefix = () => {
    const head =
      chunks.length === 1 || (chunks[0] as Buffer).length >= 5
        ? (chunks[0] as Buffer)
        : Buffer.concat(chunks);
    if (head[0] !== 0) {
      fail(status.INVALID_ARGUMENT, "The message is marked compressed, but the call names no grpc-encoding.");
      return;
    }
    length = head.readUInt32BE(1);
    if (length > method.maxMessageBytes)
      fail(status.INVALID_ARGUMENT, oversizeDetails(length, method.maxMessageBytes));
  };

  stream.on("error", () => {});
  stream.on("data", (chunk: Buffer) => {
    if (ended) return;
    chunks.push(chunk);
    have += chunk.length;
    if (length < 0 && have >= 5) prefix();
    if (ended || length < 0) return;
    if (have > 5 + length) {
      fail(status.INVALID_ARGUMENT, `${path} takes exactly one request message; the call sent more.`);
      return;
    }
    const refusal = pending?.update(have < 5 + length ? have - 5 : 0);
    if (refusal) fail(refusal.code, refusal.details);
  });
  stream.on("end", () => {
    if (ended) return;
    if (length < 0 || have < 5 + length) {
      // A reset can show as the end of the request just before the stream closes: wait one turn
      // of the event loop, so that a call the client dropped ends as CANCELLED (as in grpc-js).
      setImmediate(() => {
        endedByClient = true;
        fail(
          status.INVALID_ARGUMENT,
          `${path} takes exactly one request message; the call ended without one.`,
        );
      });
      return;
    }
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, have);
    chunks.length = 0;
    const message = body.subarray(5);
    received = 1;
    bytesReceived = message.length;
    hooks.received();
    admitThenHandle(message);
  });
  stream.on("close", () => {
    if (ended) return;
    endedByClient = true;
    const left = leftByClient(deadline);
    end(left.code, left.details);
    cancelHandler();
  });
  if (Number.isFinite(deadline)) {
    timer = setTimeout(
      () => {
        fail(status.DEADLINE_EXCEEDED, "Deadline exceeded");
        cancelHandler();
      },
      Math.max(0, deadline - Date.now()),
    );
  }
  if (options.sheds?.(path)) fail(status.UNAVAILABLE, MEMORY_SHEDDING);
}
