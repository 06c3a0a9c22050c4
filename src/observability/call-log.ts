import { type Metadata, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { AuthContext } from "../auth/principal.js";
import type { CallEndInfo } from "./grpc-metrics-interceptor.js";
import { HEALTH_PATH_PREFIX } from "./health-service.js";
import { grpcCodeName } from "./metric-labels.js";

/** Who made a call, as far as the log needs to know: identifiers only, never a secret. */
export type CallIdentity = Pick<AuthContext, "organizationId" | "projectId" | "serviceAccountId" | "tokenId">;

export interface CallLogOptions {
  log: Pick<Logger, "debug" | "info" | "warn">;
  /** The auth context the auth interceptor attached to a call's metadata; undefined if refused. */
  contextOf: (metadata: Metadata) => CallIdentity | undefined;
  /** Calls to leave out. Default: successful health checks, which probes repeat every few seconds. */
  skip?: (info: CallEndInfo) => boolean;
}

/** Codes that mean the gateway failed, rather than the caller or its network. */
const SERVER_FAULTS: ReadonlySet<number> = new Set([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]);

const skipHealthChecks = (info: CallEndInfo) =>
  info.code === status.OK && info.path.startsWith(HEALTH_PATH_PREFIX);

/**
 * Turns the metrics interceptor's `onCallEnd` into one log line per finished call:
 * `{ method, organizationId, projectId, serviceAccountId, tokenId, code, durationMs, bytes, peer }`,
 * plus `details` when the call failed. Server faults (INTERNAL, UNKNOWN, DATA_LOSS) log at warn;
 * calls the client cancelled at debug; everything else, client errors included, at info. Metadata values are never logged.
 */
export function callLogger(options: CallLogOptions): (info: CallEndInfo) => void {
  const skip = options.skip ?? skipHealthChecks;
  return (info) => {
    if (skip(info)) return;
    const who = info.metadata ? options.contextOf(info.metadata) : undefined;
    const line = {
      method: info.path,
      organizationId: who?.organizationId,
      projectId: who?.projectId || undefined,
      serviceAccountId: who?.serviceAccountId,
      tokenId: who?.tokenId,
      code: grpcCodeName(info.code),
      durationMs: Math.round(info.durationSeconds * 1e6) / 1e3,
      bytes: info.bytesReceived,
      peer: info.peer,
      details: info.code === status.OK ? undefined : info.details,
    };
    if (SERVER_FAULTS.has(info.code)) options.log.warn(line, "call failed");
    // A client that opens streams and drops them must not turn each into an info line.
    else if (info.code === status.CANCELLED) options.log.debug(line, "call cancelled by the client");
    else options.log.info(line, "call finished");
  };
}
