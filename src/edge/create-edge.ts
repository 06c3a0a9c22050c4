import { Server, type ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import type { AuthDecision, PolicyTable } from "../auth/method-policies.js";
import type { AuthContext } from "../auth/principal.js";
import type { HostPort } from "../config/flag-spec.js";
import { clientGroup } from "../iam/cidr.js";
import type { Admit } from "../ingest/admission.js";
import type { CallObserver } from "../rpc/call-events.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { admissionGate } from "./admission-gate.js";
import { bindService, type HandlerFault } from "./bind-service.js";
import { callObserver, MethodHookTable } from "./call-observer.js";
import { type CallDecision, type FrontGate, frontGate } from "./front-gate.js";
import { CallRegistry, type OpenCallBounds } from "./call-registry.js";
import { type GatedListener, listenGated } from "./gated-listener.js";
import {
  acceptZstd,
  checkGrpcInternals,
  type ReceiveWindows,
  refuseOversizeWithInvalidArgument,
  streamOf,
  streamOpenedCounter,
} from "./grpc-internals.js";
import type { LaneMethod, UnaryHandler } from "./unary-lane.js";
import type { AbandonedStreamGuard } from "./guards/abandoned-streams.js";
import type { MemoryGuard } from "./guards/memory-guard.js";
import type { PendingBound, PendingBytes } from "./guards/pending-bytes.js";
import { callIntake } from "./intake.js";

/** grpc-js's receive limit when the edge sets none. */
const GRPC_DEFAULT_RECEIVE_BYTES = 4 * 1024 * 1024;

/** Health checks and reflection requests are a few bytes; 4 KiB is ample. */
export const DEFAULT_PUBLIC_MESSAGE_BYTES = 4 * 1024;

/** Bounds on what a client controls at the transport. */
export interface EdgeTransport {
  /** grpc-js's default is 4 MiB. */
  maxReceiveBytes?: number | undefined;
  /** Connections older than this are closed after a grace period, so they rebalance; 0: never. */
  maxConnectionAgeMs?: number | undefined;
  /** Connections without a call for this long are closed; 0: never. */
  maxConnectionIdleMs?: number | undefined;
  maxConcurrentStreams?: number | undefined;
  /** Larger HTTP/2 receive windows than Node's 64 KiB default. */
  receiveWindows?: ReceiveWindows | undefined;
  /** What counts as one client address for the per-address guards. */
  groupOf?: ((address: string) => string) | undefined;
  /** The message limit of public methods (health, reflection); default 4 KiB. */
  publicMessageBytes?: number | undefined;
}

/** The per-address and process guards an edge enforces. */
export interface EdgeGuards {
  /** Sheds new calls of guarded methods while memory is short. */
  memory?: MemoryGuard | undefined;
  /** Cuts off addresses that open and abandon streams in bulk. */
  abandoned?: AbandonedStreamGuard | undefined;
  /** Bounds the bytes of incomplete messages per connection, address and process. */
  pending?: PendingBytes | undefined;
  /** Bounds the uploads held open per service account and process. */
  openCalls?: OpenCallBounds | undefined;
}

/** What an edge tells the rest of the gateway. */
export interface EdgeHooks {
  onDecision?: ((decision: AuthDecision) => void) | undefined;
  onAllowed?: ((context: AuthContext) => void) | undefined;
  /** A message refused by admission: the method path and the reason slug. */
  onAdmissionRefused?: ((path: string, reason: string) => void) | undefined;
  /** An address was cut off by the abandoned-stream guard, with how many connections it had. */
  onCutOff?: ((address: string, closedConnections: number) => void) | undefined;
  /** A connection closed at accept because its address is cooling down. */
  onConnectionRefused?: ((address: string) => void) | undefined;
  /** The listener failed to accept a connection (e.g. out of file descriptors). */
  onListenerError?: ((error: Error) => void) | undefined;
  /** A handler failed unexpectedly: the client got INTERNAL, this gets the cause. */
  onHandlerFault?: HandlerFault | undefined;
  /** A call refused for passing a bound on incomplete messages. */
  onPendingRefused?: ((bound: PendingBound, address: string) => void) | undefined;
}

export interface EdgeOptions {
  /** Which methods are served, and what each requires (auth/method-policies.ts). */
  policyFor: PolicyTable;
  /** The auth decision (auth/auth-decision.ts's `decide`, bound to the authenticator). */
  decide: CallDecision;
  /** Rate limits on what `admitted` methods send; none: nothing is weighed. */
  admit?: Admit | undefined;
  /** Subscribers to every call's events: metrics, the call log. */
  observers?: readonly CallObserver[] | undefined;
  guards?: EdgeGuards | undefined;
  hooks?: EdgeHooks | undefined;
  transport?: EdgeTransport | undefined;
}

/**
 * Everything between an accepted socket and a handler, with one owner: the gated listener and
 * its HTTP/2 windows, the front gate (the auth decision on each HTTP/2 stream, before grpc-js
 * builds a call: refused calls end there), the intake bounds (message limits per method, incomplete-message bytes),
 * the per-address guards, the memory guard, the auth gate, admission, and
 * one call observer whose `CallEnd` events the counters, the call log and the abandoned-stream
 * guard subscribe to. Handlers see only calls that passed all of it, with their caller on
 * `call.metadata` (auth/call-context.ts), and report errors that the edge maps to statuses in
 * one place. `profgate serve` builds one for the agent listener and one for the admin listener;
 * the benchmarks build theirs the same way.
 */
export class Edge {
  readonly server: Server;
  /** The authenticated streaming calls in flight: what revocation ends. */
  readonly calls: CallRegistry;
  private listener: GatedListener | undefined;
  private readonly hooks: EdgeHooks;
  /** Every served method's observers, shared by the front gate and the call observer. */
  private readonly methods: MethodHookTable;
  private readonly front: FrontGate;
  /** The unary methods served without grpc-js once allowed (edge/unary-lane.ts). */
  private readonly laneMethods = new Map<string, LaneMethod>();

  constructor(private readonly options: EdgeOptions) {
    checkGrpcInternals();
    refuseOversizeWithInvalidArgument();
    acceptZstd();
    this.hooks = options.hooks ?? {};
    const { guards = {}, transport = {} } = options;
    const observers = [...(options.observers ?? [])];
    const abandoned = guards.abandoned;
    if (abandoned) {
      observers.push({
        forMethod: () => ({
          ended: (end) => {
            const address = abandoned.strike(end);
            if (address !== undefined) this.cutOff(address);
          },
        }),
      });
    }
    const groupOf = transport.groupOf ?? ((address: string) => clientGroup(address));
    const intake = callIntake({
      policyFor: options.policyFor,
      publicMessageBytes: transport.publicMessageBytes ?? DEFAULT_PUBLIC_MESSAGE_BYTES,
      pending: guards.pending,
      groupOf,
      onPendingRefused: this.hooks.onPendingRefused,
    });
    this.methods = new MethodHookTable(observers);
    const interceptors: ServerInterceptor[] = [
      callObserver(this.methods, intake, {
        decisionOf: (base) => this.front.takeDecision(streamOf(base)),
        needsDecision: (path) => options.policyFor(path) !== "public",
      }),
    ];
    if (guards.memory) interceptors.push(guards.memory.interceptor);
    this.calls = new CallRegistry(options.policyFor, guards.openCalls);
    interceptors.push(this.calls.interceptor);
    if (options.admit) {
      interceptors.push(
        admissionGate({
          policyFor: options.policyFor,
          admit: options.admit,
          onRefused: this.hooks.onAdmissionRefused,
        }),
      );
    }
    this.server = new Server({
      // Bounds on what a client controls: header size, streams per connection, dead peers.
      "grpc.max_metadata_size": 16 * 1024,
      "grpc.max_concurrent_streams": transport.maxConcurrentStreams ?? 32,
      "grpc.keepalive_time_ms": 60_000,
      "grpc.keepalive_timeout_ms": 20_000,
      // Nothing serves channelz here; its per-call bookkeeping would be pure cost.
      "grpc.enable_channelz": 0,
      ...(transport.maxConnectionIdleMs
        ? { "grpc.max_connection_idle_ms": transport.maxConnectionIdleMs }
        : {}),
      ...(transport.maxReceiveBytes ? { "grpc.max_receive_message_length": transport.maxReceiveBytes } : {}),
      ...(transport.maxConnectionAgeMs
        ? {
            "grpc.max_connection_age_ms": transport.maxConnectionAgeMs,
            "grpc.max_connection_age_grace_ms": 30_000,
          }
        : {}),
      interceptors,
    });
    this.front = frontGate({
      policyFor: options.policyFor,
      decide: options.decide,
      methods: this.methods,
      onAllowed: this.hooks.onAllowed,
      onDecision: this.hooks.onDecision,
      lane: {
        methodFor: (path) => this.laneMethods.get(path),
        options: {
          admit: options.admit,
          onAdmissionRefused: this.hooks.onAdmissionRefused,
          pending: guards.pending,
          groupOf,
          onPendingRefused: this.hooks.onPendingRefused,
          sheds: guards.memory?.sheds,
          opened: streamOpenedCounter(this.server),
        },
      },
    });
  }

  /** Serves `binding`; its handlers' errors are mapped by the edge. */
  addService(binding: ServiceBinding): void {
    for (const method of Object.values(binding.definition)) this.methods.serve(method);
    const unary = bindService(this.server, binding, (path, cause) =>
      this.hooks.onHandlerFault?.(path, cause),
    );
    for (const [path, { definition, handler }] of unary) {
      const policy = this.options.policyFor(path);
      // The lane serves what agents send most: the unary writes that admission weighs.
      if (policy === undefined || policy === "public" || !policy.admitted) continue;
      this.laneMethods.set(path, {
        hooks: this.methods.forMethod(definition),
        deserialize: definition.requestDeserialize,
        serialize: definition.responseSerialize,
        handler: handler as UnaryHandler,
        maxMessageBytes:
          policy.maxMessageBytes ?? this.options.transport?.maxReceiveBytes ?? GRPC_DEFAULT_RECEIVE_BYTES,
      });
    }
  }

  /** Starts accepting on `address`; resolves with the address bound (port 0 picks one). */
  async listen(address: HostPort, credentials: ServerCredentials): Promise<HostPort> {
    if (this.listener) throw new Error("this edge is already listening");
    const { guards = {}, transport = {} } = this.options;
    const abandoned = guards.abandoned;
    this.listener = await listenGated(this.server, address, credentials, {
      ...(abandoned ? { refuse: (peer: string) => abandoned.refuses(peer) } : {}),
      ...(transport.groupOf ? { groupOf: transport.groupOf } : {}),
      ...(transport.receiveWindows ? { receiveWindows: transport.receiveWindows } : {}),
      front: this.front.front,
      onRefused: (peer) => this.hooks.onConnectionRefused?.(peer),
      onError: (error) => this.hooks.onListenerError?.(error),
    });
    return this.listener.address;
  }

  /** Connections open now. */
  get connections(): number {
    return this.listener?.connections ?? 0;
  }

  /** Closes every connection from `address`'s client group; returns how many there were. */
  cutOff(address: string): number {
    const closed = this.listener?.cutOff(address) ?? 0;
    this.hooks.onCutOff?.(address, closed);
    return closed;
  }

  /**
   * Stops accepting and waits for the calls in flight; after `graceMs`, cuts off what is left.
   * grpc-js without channelz leaves its connections open on a forced shutdown, and knows nothing
   * of a connection still in its TLS handshake, so the listener, which owns the sockets, closes
   * whatever is left at the end. Resolves `forced` when it had to.
   */
  async close(graceMs: number): Promise<{ forced: boolean }> {
    const listener = this.listener;
    const closing = listener?.close();
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.server.forceShutdown();
      listener?.destroyAll();
    }, graceMs);
    await new Promise<void>((done) => this.server.tryShutdown(() => done()));
    clearTimeout(timer);
    listener?.destroyAll();
    await closing;
    return { forced };
  }
}

/** Builds an edge (see `Edge`). */
export function createEdge(options: EdgeOptions): Edge {
  return new Edge(options);
}
