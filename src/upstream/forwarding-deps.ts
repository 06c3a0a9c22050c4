import type { status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { SpooledCall } from "./spool/spooled-call.js";
import type { ThrottledWarning } from "./throttled-warning.js";
import type { UpstreamClient } from "./upstream-client.js";

/** What the forwarding handlers need of the spool. */
export interface SpoolPort {
  /** True while the project has records that are not delivered yet (or being spooled). */
  holds(projectId: string): boolean;
  /** Resolves once the call is durably spooled; rejects with `unavailable` when full or failing. */
  append(call: SpooledCall): Promise<void>;
}

/** What the forwarding handlers need, built once by `openUpstream`. */
export interface ForwardingDeps {
  client: UpstreamClient;
  log: Logger;
  /** Transport failures, logged at most every few seconds. */
  failures: ThrottledWarning;
  /** Present with `--spool`: where WriteRaw, WriteArrow and the OTLP Exports go when the upstream fails. */
  spool?: SpoolPort | undefined;
  /** An upstream call succeeded: the upstream is back, so waiting deliveries may go now. */
  onUpstreamOk?: (() => void) | undefined;
  /** Bound on a forwarded Upload (`--upload-timeout`); unbounded when absent. */
  uploadTimeoutMs?: number | undefined;
  /** Every finished upstream call, for metrics: the method name and the status the agent got. */
  onUpstreamCall?: ((method: string, seconds: number, code: status) => void) | undefined;
}
