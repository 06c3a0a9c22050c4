import { status } from "@grpc/grpc-js";

/** How an upstream call ended, as the agent will see it. */
export interface UpstreamStatus {
  code: status;
  /** Safe to send and log: scrubbed of the gateway's credential. */
  details: string;
  /**
   * The upstream could not be reached or did not answer in time (as opposed to answering with
   * a status): the agent gets UNAVAILABLE so that it retries, and a spooling gateway may spool.
   */
  transport: boolean;
  /** A short slug saying what went wrong, for logs: `ok`, `status`, `unreachable`, `reset`, `timeout`. */
  reason: string;
}

/** What the caller knows about the failed call. */
export interface FailureContext {
  /** The deadline was the gateway's `--upstream-timeout`, not the agent's. */
  capped: boolean;
  /** The gateway cancelled the call itself (the agent went away). */
  cancelledByGateway: boolean;
  scrub: (text: string) => string;
}

// Statuses grpc-js makes up on the client side when the connection, not the server, failed.
const CONNECTION_LOST =
  /^(Connection dropped|Stream refused by server|Received RST_STREAM|Write error|Write failed|read ECONNRESET|Call cancelled)/;
const UNREACHABLE =
  /^(No connection established|Channel closed|Name resolution failed|DNS resolution failed)/;

/**
 * Maps the way an upstream call failed to the status the agent gets. Statuses the upstream
 * sent reach the agent unchanged; transport failures (unreachable, connection reset or
 * dropped, the gateway's own timeout) become UNAVAILABLE with a message of the gateway's, so
 * the agent retries. An UNAVAILABLE the upstream sent itself keeps its details.
 */
export function upstreamFailure(
  error: { code?: number; details?: string },
  context: FailureContext,
): UpstreamStatus {
  const code = (error.code ?? status.UNKNOWN) as status;
  const details = error.details ?? "";
  const transport = (reason: string, what: string): UpstreamStatus => ({
    code: status.UNAVAILABLE,
    details: `The upstream profile store ${what}; retry later.`,
    transport: true,
    reason,
  });
  if (code === status.DEADLINE_EXCEEDED && context.capped) {
    return transport("timeout", "did not answer within the gateway's --upstream-timeout");
  }
  if (code === status.CANCELLED && !context.cancelledByGateway) {
    return transport("reset", "connection was lost");
  }
  if (code === status.UNAVAILABLE || code === status.INTERNAL) {
    if (UNREACHABLE.test(details)) return transport("unreachable", "could not be reached");
    if (CONNECTION_LOST.test(details)) return transport("reset", "connection was lost");
    if (code === status.UNAVAILABLE) {
      return { code, details: context.scrub(details), transport: true, reason: "unavailable" };
    }
  }
  return { code, details: context.scrub(details), transport: false, reason: "status" };
}
