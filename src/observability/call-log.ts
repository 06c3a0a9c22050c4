import { status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { HEALTH_PATH_PREFIX } from "../auth/method-policies.js";
import type { CallEnd, CallObserver } from "../rpc/call-events.js";
import { grpcCodeName } from "./metric-labels.js";

export interface CallLogOptions {
  log: Pick<Logger, "debug" | "info" | "warn">;
  /**
   * The share of successful calls that get a line (`--access-log`): 1 every one, 0 none. Calls
   * that did not succeed always get theirs. Default 1.
   */
  successSample?: number;
  /** Calls to leave out. Default: successful health checks, which probes repeat every few seconds. */
  skip?: (end: CallEnd) => boolean;
}

/** Codes that mean the gateway failed, rather than the caller or its network. */
const SERVER_FAULTS: ReadonlySet<number> = new Set([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]);

const skipHealthChecks = (end: CallEnd) =>
  end.code === status.OK && end.method.path.startsWith(HEALTH_PATH_PREFIX);

/** Whether a successful call gets its log line, at `sample` (`--access-log`: 1 every one, 0 none). */
export function logsSuccess(sample: number): boolean {
  return sample >= 1 || (sample > 0 && Math.random() < sample);
}

/** One log line for a finished call (see `callLogger`). */
export function logCall(options: CallLogOptions): (end: CallEnd) => void {
  const skip = options.skip ?? skipHealthChecks;
  const sample = options.successSample ?? 1;
  return (end) => {
    if (end.code === status.OK && !logsSuccess(sample)) return;
    if (skip(end)) return;
    const who = end.caller;
    const line = {
      method: end.method.path,
      organizationId: who?.organizationId,
      projectId: who?.projectId || undefined,
      serviceAccountId: who?.serviceAccountId,
      tokenId: who?.tokenId,
      code: grpcCodeName(end.code),
      durationMs: Math.round(end.durationSeconds * 1e6) / 1e3,
      bytes: end.bytesReceived,
      peer: end.peer,
      details: end.code === status.OK ? undefined : end.details,
    };
    if (SERVER_FAULTS.has(end.code)) options.log.warn(line, "call failed");
    // A client that opens streams and drops them must not turn each into an info line.
    else if (end.code === status.CANCELLED) options.log.debug(line, "call cancelled by the client");
    else options.log.info(line, "call finished");
  };
}

/**
 * The call log as a subscriber to the edge's call events: one line per finished call (successful
 * ones as `successSample` says),
 * `{ method, organizationId, projectId, serviceAccountId, tokenId, code, durationMs, bytes, peer }`,
 * plus `details` when the call failed. Server faults (INTERNAL, UNKNOWN, DATA_LOSS) log at warn;
 * calls the client cancelled at debug; everything else, client errors included, at info.
 * Metadata values are never logged.
 */
export function callLogger(options: CallLogOptions): CallObserver {
  const ended = logCall(options);
  return { forMethod: () => ({ ended }) };
}
