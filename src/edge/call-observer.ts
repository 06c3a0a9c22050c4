import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServerMethodDefinition,
  status,
} from "@grpc/grpc-js";
import { attachAuthContext, findAuthContext } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import {
  type CallEnd,
  type CallIdentity,
  type CallObserver,
  type MethodInfo,
  type MethodObserver,
  methodInfo,
} from "../rpc/call-events.js";
import { ACCEPTED_ENCODINGS } from "./grpc-internals.js";
import type { Intake } from "./intake.js";
import { receivedBytes } from "./message-size.js";

/** A method's observers, merged once: each event is one call of a plain function. */
export interface MethodHooks {
  info: MethodInfo;
  started: () => void;
  received: () => void;
  sent: () => void;
  ended: ((end: CallEnd) => void) | undefined;
}

const noop = () => {};

function merge(observers: MethodObserver[], event: "started" | "received" | "sent"): () => void {
  const hooks = observers.flatMap((o) => (o[event] ? [o[event].bind(o)] : []));
  if (hooks.length === 0) return noop;
  if (hooks.length === 1) return hooks[0] as () => void;
  return () => {
    for (const hook of hooks) hook();
  };
}

/** What identifies a method to its observers: its path and streaming flags. */
type MethodShape = Pick<
  ServerMethodDefinition<unknown, unknown>,
  "path" | "requestStream" | "responseStream"
>;

function methodHooks(observers: readonly CallObserver[], definition: MethodShape) {
  const info = methodInfo(definition);
  const perMethod = observers.map((observer) => observer.forMethod(info));
  const enders = perMethod.flatMap((o) => (o.ended ? [o.ended.bind(o)] : []));
  return {
    info,
    started: merge(perMethod, "started"),
    received: merge(perMethod, "received"),
    sent: merge(perMethod, "sent"),
    ended:
      enders.length === 0
        ? undefined
        : (end: CallEnd) => {
            for (const ender of enders) {
              try {
                ender(end);
              } catch (error) {
                // An observer must never change how a call ends; surface the bug without crashing.
                process.emitWarning(`a call observer threw: ${String(error)}`);
              }
            }
          },
  } satisfies MethodHooks;
}

/** How one call went, as the edge saw it: what `reportEnd` turns into its `CallEnd`. */
export interface CallOutcome {
  code: status;
  details: string;
  /** `performance.now()` when the call started. */
  startedAt: number;
  peer: string;
  received: number;
  sent: number;
  bytes: number;
  /** The call ended because of the client: a cancel, its deadline, or a missing request. */
  endedByClient: boolean;
  caller: CallIdentity | undefined;
}

/**
 * Tells `method`'s observers how a call ended, once: a call that ended by its client's doing
 * (or its deadline) before a request message arrived is abandoned.
 */
export function reportEnd(method: MethodHooks, outcome: CallOutcome): void {
  method.ended?.({
    method: method.info,
    code: outcome.code,
    details: outcome.details,
    durationSeconds: (performance.now() - outcome.startedAt) / 1000,
    peer: outcome.peer,
    messagesReceived: outcome.received,
    messagesSent: outcome.sent,
    bytesReceived: outcome.bytes,
    abandoned: outcome.received === 0 && (outcome.endedByClient || outcome.code === status.DEADLINE_EXCEEDED),
    caller: outcome.caller,
  });
}

/** The caller of a call, as its events name it. */
export function callerOf(context: AuthContext | undefined): CallIdentity | undefined {
  if (!context) return undefined;
  const { organizationId, projectId, serviceAccountId, tokenId } = context;
  return { organizationId, projectId, serviceAccountId, tokenId };
}

/**
 * Reports a call that ended before grpc-js built it (refused at the front gate, or left by its
 * client during the decision): started and ended, with nothing received, sent or authenticated.
 */
export function endedBeforeGrpc(
  method: MethodHooks,
  end: Pick<CallEnd, "code" | "details" | "abandoned" | "peer"> & { startedAt: number },
): void {
  method.started();
  reportEnd(method, {
    code: end.code,
    details: end.details,
    startedAt: end.startedAt,
    peer: end.peer,
    received: 0,
    sent: 0,
    bytes: 0,
    endedByClient: end.abandoned,
    caller: undefined,
  });
}

/** What the call observer learns from the front gate (edge/front-gate.ts). */
export interface DecidedCalls {
  /** The caller decided for the call whose base call is `base`; undefined if none was. */
  decisionOf(base: unknown): AuthContext | undefined;
  /** Whether calls of `path` are decided at the front gate (every method that is not public). */
  needsDecision(path: string): boolean;
}

/**
 * Every served method's merged observers, resolved on a method's first call: the call observer
 * and the front gate (edge/front-gate.ts) report through the same hooks.
 */
export class MethodHookTable {
  private readonly hooks = new Map<string, MethodHooks>();
  private readonly shapes = new Map<string, MethodShape>();

  constructor(private readonly observers: readonly CallObserver[]) {}

  /** Makes `method` known by its path (the edge calls this for every method it serves). */
  serve(method: MethodShape): void {
    this.shapes.set(method.path, method);
  }

  /** The hooks of a served method, or undefined for a path that is not one. */
  forPath(path: string): MethodHooks | undefined {
    const known = this.hooks.get(path);
    if (known !== undefined) return known;
    const shape = this.shapes.get(path);
    return shape === undefined ? undefined : this.forMethod(shape);
  }

  forMethod(method: MethodShape): MethodHooks {
    let hooks = this.hooks.get(method.path);
    if (hooks === undefined) {
      hooks = methodHooks(this.observers, method);
      this.hooks.set(method.path, hooks);
    }
    return hooks;
  }
}

/**
 * A client whose deadline passes cancels the stream, and that cancel can arrive before the
 * server's own deadline timer fires: the server's deadline started when the headers arrived,
 * later than the client's. A cancel this close to the deadline is the deadline passing.
 */
const DEADLINE_SLACK_MS = 100;

/** The status of a call its client left: DEADLINE_EXCEEDED at (or just before) `deadline`, else CANCELLED. */
export function leftByClient(deadline: Date | number): { code: status; details: string } {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at <= Date.now() + DEADLINE_SLACK_MS
    ? { code: status.DEADLINE_EXCEEDED, details: "Deadline exceeded" }
    : { code: status.CANCELLED, details: "Cancelled by the client" };
}

/**
 * The edge's outermost interceptor: it sees every call, including calls a later guard refuses,
 * sets up the call's intake bounds (`intake`: message limits, incomplete-message bytes),
 * tells the observers when a call starts, each message received and sent, and exactly once how
 * it ended (`CallEnd`). It also settles how a call ends when the client goes away: a call the
 * client cancels ends as CANCELLED; one that outlives its deadline (or is cancelled within
 * 100 ms of it) as DEADLINE_EXCEEDED. grpc-js first shows a client's cancel as a half-close, so a
 * half-close that is not the end of a complete unary request is held back for one turn of the
 * event loop: a dropped call then ends as CANCELLED without the handler acting on it. A unary
 * call that really ended without its message gets INVALID_ARGUMENT (grpc-js would answer
 * UNIMPLEMENTED, as if the method did not exist).
 */
export function callObserver(
  methods: MethodHookTable,
  intake?: Intake,
  gate?: DecidedCalls,
): ServerInterceptor {
  return (definition, next) => {
    const method = methods.forMethod(definition);
    method.started();
    // `next` is grpc-js's base call: this interceptor is the first.
    const decided = gate?.decisionOf(next);
    const undecided = gate !== undefined && decided === undefined && gate.needsDecision(definition.path);
    const startedAt = performance.now();
    // Read now: once the client is gone, grpc-js may no longer know its address.
    const peer = method.ended || intake ? next.getPeer() : "";
    const released = intake?.(next, definition.path, peer, (s) => call.sendStatus(s));
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
      released?.();
      reportEnd(method, {
        code,
        details,
        startedAt,
        peer,
        received,
        sent,
        bytes,
        endedByClient,
        caller: callerOf(findAuthContext(metadata)),
      });
    };

    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((value, proceed) => {
        metadata = value;
        if (undecided) {
          // Only the front gate lets such a call through; without its decision, nothing runs.
          call.sendStatus({ code: status.INTERNAL, details: "internal error" });
          return;
        }
        // The caller the front gate decided on, for the handler (`authContextOf`).
        if (decided) attachAuthContext(value, decided);
        proceed(value);
      })
      .withOnReceiveMessage((message, proceed) => {
        received++;
        bytes += receivedBytes(message);
        method.received();
        proceed(message);
      })
      .withOnReceiveHalfClose((proceed) => {
        // A single-request call with its message: the common case, passed on at once.
        if (received > 0 && !method.info.streamingRequest) {
          proceed();
          return;
        }
        // grpc-js shows a dropped connection as a half-close just before the cancel: wait one
        // turn of the event loop for that cancel, so that an abandoned call is not answered
        // (nor a Write exchange failed) as if the client had finished sending.
        setImmediate(() => {
          // A cancel ends the call: `ended` covers it.
          if (ended) return;
          if (method.info.streamingRequest) proceed();
          else {
            endedByClient = true;
            call.sendStatus({
              code: status.INVALID_ARGUMENT,
              details: `${method.info.path} takes exactly one request message; the call ended without one.`,
            });
          }
        });
      })
      // grpc-js also cancels after every status it sent; such a call has already ended.
      .withOnCancel(() => {
        if (ended) return;
        endedByClient = true;
        const left = leftByClient(next.getDeadline());
        end(left.code, left.details);
      })
      .build();

    const responder = new ResponderBuilder()
      .withStart((proceed) => proceed(listener))
      // grpc-js would advertise only the encodings it decodes itself.
      .withSendMetadata((metadata, proceed) => {
        metadata.set("grpc-accept-encoding", ACCEPTED_ENCODINGS);
        proceed(metadata);
      })
      .withSendMessage((message, proceed) => {
        sent++;
        method.sent();
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
