import type { Logger } from "pino";
import { type DecisionDeps, decide } from "../auth/auth-decision.js";
import type { Authenticator } from "../auth/authenticator.js";
import { ADMIN_POLICIES, INGEST_POLICIES, isPublicMethod, policyTable } from "../auth/method-policies.js";
import type { AuthContext } from "../auth/principal.js";
import type { ServeConfig } from "../config/serve-flags.js";
import type { CallDecision } from "../edge/front-gate.js";
import { createEdge, type Edge, type EdgeHooks } from "../edge/create-edge.js";
import { AbandonedStreamGuard } from "../edge/guards/abandoned-streams.js";
import { FailedAuthLimiter } from "../edge/guards/failed-auth-limiter.js";
import { type MemoryGuard, memoryGuard } from "../edge/guards/memory-guard.js";
import { type PendingBound, PendingBytes } from "../edge/guards/pending-bytes.js";
import { clientGroup } from "../iam/cidr.js";
import type { Admit } from "../ingest/admission.js";
import { authMetricsHooks } from "../observability/auth-metrics.js";
import { callLogger } from "../observability/call-log.js";
import { grpcServerMetrics } from "../observability/grpc-server-metrics.js";
import type { ProfgateMetrics } from "../observability/metrics.js";
import type { CallObserver } from "../rpc/call-events.js";

/** Parca's server accepts messages up to 64 MiB; agents send up to 32 MiB. */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** What both of a gateway's edges share. */
export interface EdgeParts {
  config: ServeConfig;
  log: Logger;
  metrics: ProfgateMetrics;
  authenticator: Authenticator;
  /** A token passed the gate: its last-used date is recorded. */
  onAllowed: (context: AuthContext) => void;
  /** The agent listener's decision instead of the IAM check: only the benchmark's no-auth baseline. */
  trusted?: AuthContext | undefined;
}

/** The per-address, memory and intake guards, built once from the flags. */
export interface Guards {
  /** Failed authentications of agents (the agent listener). */
  failedAuth: FailedAuthLimiter;
  /** Failed authentications of operators (the admin listener and the console), counted apart. */
  operatorFailedAuth: FailedAuthLimiter;
  memory: MemoryGuard;
  abandoned: AbandonedStreamGuard;
  pending: PendingBytes;
  groupOf: (address: string) => string;
}

export function openGuards(config: ServeConfig, log: Logger, metrics: ProfgateMetrics): Guards {
  const groupOf = (address: string) => clientGroup(address, config.peerIpv6Prefix);
  const limiter = () =>
    new FailedAuthLimiter({
      burst: config.authFailureBurst,
      cooldownMs: config.authFailureCooldown,
      groupOf,
    });
  return {
    groupOf,
    failedAuth: limiter(),
    operatorFailedAuth: limiter(),
    memory: memoryGuard({
      softLimitBytes: config.memorySoftLimit,
      guarded: (path) => !isPublicMethod(path),
      onChange: (pressed, used, limit) => {
        metrics.memoryShedding.set(pressed ? 1 : 0);
        if (pressed)
          log.warn({ used, limit }, "memory above the soft limit: refusing new calls with UNAVAILABLE");
        else log.info({ used, limit }, "memory back below the soft limit: accepting calls again");
      },
    }),
    pending: new PendingBytes({
      totalBytes: config.maxPendingBytes,
      perAddressBytes: config.maxPendingBytesPerClient,
      perConnectionBytes: config.maxPendingBytesPerConnection,
    }),
    abandoned: new AbandonedStreamGuard({
      burst: config.abandonedStreamBurst,
      cooldownMs: config.abandonedStreamCooldown,
      groupOf,
    }),
  };
}

/** The auth decision with `failedAuth`'s per-address limiting: agents and operators have one each. */
export function callDecision(authenticator: Authenticator, failedAuth: FailedAuthLimiter): CallDecision {
  const deps: DecisionDeps = { authenticator, failedAuth };
  return (policy, credentials, peer) => decide(deps, policy, credentials, peer);
}

function commonHooks(parts: EdgeParts): EdgeHooks {
  const { log } = parts;
  const warnPending = pendingWarning(log);
  return {
    onDecision: authMetricsHooks(parts.metrics.auth).onDecision,
    onAllowed: parts.onAllowed,
    onHandlerFault: (method, cause) => log.error({ err: cause, method }, "a call failed inside the gateway"),
    onListenerError: (error) => log.error({ err: error }, "a gRPC listener failed to accept a connection"),
    onPendingRefused: (bound, address) => {
      parts.metrics.connections.pendingRefusals.inc({ bound });
      warnPending(bound, address);
    },
  };
}

/** A warning about incomplete-message bounds at most every 10 s: an attack is many calls. */
function pendingWarning(log: Logger): (bound: PendingBound, address: string) => void {
  let warnedAt = 0;
  return (bound, address) => {
    if (Date.now() - warnedAt < 10_000) return;
    warnedAt = Date.now();
    log.warn(
      { bound, address },
      "refused a call: the gateway holds as many bytes of incomplete messages as its bounds allow (--max-pending-bytes*)",
    );
  };
}

/**
 * The observers every edge has: the gRPC server metrics and the call log, whose successful calls
 * are logged as `successSample` says (failures always).
 */
function observers(parts: EdgeParts, successSample: number): CallObserver[] {
  return [grpcServerMetrics(parts.metrics.grpc), callLogger({ log: parts.log, successSample })];
}

/**
 * The agent listener's edge: ingestion policies, the receive limit, connection bounds and
 * windows, every guard, and admission of what writes send.
 */
export function agentEdge(parts: EdgeParts, guards: Guards, admit: Admit): Edge {
  const { config, log, metrics } = parts;
  const trusted = parts.trusted;
  return createEdge({
    policyFor: policyTable(INGEST_POLICIES),
    decide: trusted ? () => trusted : callDecision(parts.authenticator, guards.failedAuth),
    admit,
    observers: observers(parts, config.accessLog),
    guards: {
      memory: guards.memory,
      abandoned: guards.abandoned,
      pending: guards.pending,
      openCalls: { perAccount: config.maxOpenUploadsPerAccount, total: config.maxOpenUploads },
    },
    hooks: {
      ...commonHooks(parts),
      onAdmissionRefused: (path, reason) =>
        metrics.ingest.rejections.inc({ method: path.slice(path.lastIndexOf("/") + 1), reason }),
      onConnectionRefused: () => metrics.connections.refused.inc(),
      onCutOff: (address, closedConnections) => {
        metrics.connections.cutOffs.inc({ reason: "abandoned_streams" });
        log.warn(
          { address, closedConnections, burst: config.abandonedStreamBurst },
          `a client address abandoned too many streams: closed its connections, refusing new ones for ${config.abandonedStreamCooldown / 1000}s`,
        );
      },
    },
    transport: {
      maxReceiveBytes: MAX_RECEIVE_BYTES,
      maxConnectionAgeMs: config.maxConnectionAge,
      maxConnectionIdleMs: config.maxConnectionIdle,
      maxConcurrentStreams: config.maxConcurrentStreams,
      receiveWindows: {
        streamBytes: config.http2StreamWindow,
        connectionBytes: config.http2ConnectionWindow,
      },
      groupOf: guards.groupOf,
    },
  });
}

/**
 * The admin listener's edge: admin policies, grpc-js's default message limit, the memory and
 * intake guards, and the operators' own failed-auth limiter, so that junk from agents' addresses
 * cannot lock the operator out.
 */
export function adminEdge(parts: EdgeParts, guards: Guards): Edge {
  return createEdge({
    policyFor: policyTable(ADMIN_POLICIES),
    decide: callDecision(parts.authenticator, guards.operatorFailedAuth),
    // Operators' calls are few, and each is worth its line.
    observers: observers(parts, 1),
    guards: { memory: guards.memory, pending: guards.pending },
    hooks: commonHooks(parts),
    transport: { groupOf: guards.groupOf },
  });
}
