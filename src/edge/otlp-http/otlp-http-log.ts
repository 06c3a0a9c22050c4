import type { Logger } from "pino";
import { logsSuccess } from "../../observability/call-log.js";

/** One OTLP/HTTP request's log line: the agent listener's call-log fields, with the HTTP route and status. */
export interface RequestLine {
  method: string;
  route: string;
  status: number;
  organizationId: string | undefined;
  projectId: string | undefined;
  serviceAccountId: string | undefined;
  tokenId: string | undefined;
  durationMs: number;
  bytes: number;
  peer: string;
  details: string | undefined;
}

/**
 * Logs one finished request as the call log does (`--access-log`): refused and failed requests
 * always, successful ones as `successSample` says; a 500 at warn, everything else at info.
 */
export function logRequest(
  options: { successSample?: number | undefined; log: Pick<Logger, "info" | "warn"> },
  line: RequestLine,
): void {
  if (line.status === 200 && !logsSuccess(options.successSample ?? 1)) return;
  if (line.status === 500) options.log.warn(line, "OTLP/HTTP request failed");
  else options.log.info(line, "OTLP/HTTP request finished");
}
