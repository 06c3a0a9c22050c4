import { constants as http2Constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { status } from "@grpc/grpc-js";
import type { CallCredentials } from "../auth/auth-decision.js";
import type { AuthDecision, MethodPolicy, PolicyTable } from "../auth/method-policies.js";
import type { AuthContext } from "../auth/principal.js";
import { endedBeforeGrpc, type MethodHookTable } from "./call-observer.js";
import type { StreamFrontHandler } from "./grpc-internals.js";
import { toStatus } from "./to-status.js";
import { type LaneMethod, type LaneOptions, laneDeadline, serveOnLane } from "./unary-lane.js";

/** The auth decision the gate asks for each call: a context, or a thrown DomainError. */
export type CallDecision = (
  policy: MethodPolicy,
  credentials: CallCredentials,
  peer: string | (() => string),
) => AuthContext | Promise<AuthContext>;

export interface FrontGateOptions {
  policyFor: PolicyTable;
  decide: CallDecision;
  /** The served methods' observers: a call refused here is counted and logged like any other. */
  methods: MethodHookTable;
  onAllowed?: ((context: AuthContext) => void) | undefined;
  onDecision?: ((decision: AuthDecision) => void) | undefined;
  /** The unary methods served without grpc-js once allowed (edge/unary-lane.ts). */
  lane?: UnaryLane | undefined;
}

/** Which methods the unary lane serves, and what it enforces. */
export interface UnaryLane {
  methodFor(path: string): LaneMethod | undefined;
  readonly options: LaneOptions;
}

/** The front gate's stream handler, and what it decided for the calls it passed on. */
export interface FrontGate {
  front: StreamFrontHandler;
  /** The context decided for the call of `stream`, once; undefined if the gate did not decide it. */
  takeDecision(stream: unknown): AuthContext | undefined;
}

/** Headers grpc-js keeps out of a call's metadata: they do not count as its entries. */
const NOT_METADATA = new Set([
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "accept-encoding",
  "te",
  "content-type",
]);

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What a call's HTTP/2 headers present to the decision, counted as grpc-js counts metadata. */
export function headerCredentials(headers: IncomingHttpHeaders): CallCredentials {
  let entries = 0;
  for (const key in headers) {
    if (key.charCodeAt(0) !== 58 /* ":" */ && !NOT_METADATA.has(key)) entries++;
  }
  return {
    authorization: firstValue(headers.authorization),
    projectId: firstValue(headers.projectid),
    entries,
  };
}

/** The client's `host:port`, as grpc-js reports a call's peer. */
function peerOf(stream: ServerHttp2Stream): string {
  const socket = stream.session?.socket;
  if (!socket?.remoteAddress) return "unknown";
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
}

const isGrpc = (contentType: string | undefined) =>
  contentType !== undefined &&
  (contentType === "application/grpc" || contentType.startsWith("application/grpc+"));

/**
 * The edge's auth gate: it authenticates and authorizes every call from its metadata alone, on
 * the HTTP/2 stream itself, before grpc-js builds a call for it or any message is read. A
 * refused call costs one trailers-only response with the status of docs/iam-model.md and a
 * RST_STREAM (CANCEL: the response is complete, the client may stop sending), not
 * a grpc-js call, its interceptors and the receipt of its body; it is counted and logged through
 * the same observers as any call. An allowed unary call of an admitted method (the writes, panic
 * reports, OTLP exports) without message compression is served right here on its stream
 * (edge/unary-lane.ts); any other allowed call goes on to grpc-js. Either way its context reaches
 * the handler on `call.metadata` (`authContextOf`). Public
 * methods, paths that are not served and requests that are not gRPC go to grpc-js untouched,
 * which answers them as it would.
 */
export function frontGate(options: FrontGateOptions): FrontGate {
  const decided = new WeakMap<object, AuthContext>();
  const front: StreamFrontHandler = (stream, headers, pass) => {
    const path = headers[":path"];
    const method = typeof path === "string" ? options.methods.forPath(path) : undefined;
    const policy = method === undefined ? undefined : options.policyFor(method.info.path);
    if (method === undefined || policy === "public" || !isGrpc(headers["content-type"])) {
      pass();
      return;
    }
    const startedAt = performance.now();
    const finish = (allowed: boolean, reason: string) =>
      options.onDecision?.({
        path: method.info.path,
        allowed,
        reason,
        seconds: (performance.now() - startedAt) / 1000,
      });
    const ended = (code: status, details: string, abandoned: boolean, peer: string) =>
      endedBeforeGrpc(method, { code, details, abandoned, peer, startedAt });
    let peer: string | undefined;
    const peerNow = () => {
      peer ??= peerOf(stream);
      return peer;
    };
    // grpc-js adds its own handler once it has the stream; until then an error must not throw.
    const ignore = () => {};
    stream.on("error", ignore);
    const gone = () => stream.closed || stream.destroyed;
    const refuse = (error: unknown) => {
      const refusal = toStatus(error);
      finish(false, refusal.reason);
      stream.off("error", ignore);
      if (gone()) {
        ended(status.CANCELLED, "Cancelled by the client", true, peerNow());
        return;
      }
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc+proto",
          "grpc-status": refusal.code,
          "grpc-message": encodeURI(refusal.details),
        },
        { endStream: true },
      );
      // CANCEL, not NO_ERROR: Node holds a NO_ERROR reset until the response's end is written,
      // which a client that keeps its side open can delay; a client that has the status keeps it.
      stream.close(http2Constants.NGHTTP2_CANCEL);
      ended(refusal.code, refusal.details, false, peerNow());
    };
    const allow = (context: AuthContext) => {
      finish(true, "allowed");
      options.onAllowed?.(context);
      stream.off("error", ignore);
      if (gone()) {
        ended(status.CANCELLED, "Cancelled by the client", true, peerNow());
        return;
      }
      const lane = options.lane;
      const onLane = lane?.methodFor(method.info.path);
      const deadline = onLane && laneDeadline(headers);
      if (lane && onLane && deadline !== undefined) {
        serveOnLane(stream, deadline, context, onLane, peerNow(), lane.options);
        return;
      }
      decided.set(stream, context);
      pass();
    };
    if (policy === undefined) {
      // A served method missing from the policy table is a wiring bug: refused, never served.
      refuse(new Error(`no auth policy for ${method.info.path}`));
      return;
    }
    let decision: AuthContext | Promise<AuthContext>;
    try {
      decision = options.decide(policy, headerCredentials(headers), peerNow);
    } catch (error) {
      refuse(error);
      return;
    }
    if (decision instanceof Promise) {
      decision.then(allow, refuse).catch((error: unknown) => {
        // Nothing above should throw; if it did, the call must not hang.
        process.emitWarning(`the front gate failed a call: ${String(error)}`);
        if (!gone()) stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
      });
    } else allow(decision);
  };
  return {
    front,
    takeDecision(stream) {
      if (typeof stream !== "object" || stream === null) return undefined;
      const context = decided.get(stream);
      if (context !== undefined) decided.delete(stream);
      return context;
    },
  };
}
