import type { Logger } from "pino";
import type { AgentRegistry } from "./agent-registry.js";
import type { DebuginfoStore } from "./debuginfo/debuginfo-store.js";
import type { Sink } from "./sink.js";

/** What the ingestion handlers need, built once by the composition root. */
export interface IngestDeps {
  sink: Sink;
  debuginfo: DebuginfoStore;
  agents: AgentRegistry;
  log: Logger;
  now: () => number;
  /** Bound on the whole bidi Write exchange, as Parca's server does (5 s). */
  writeExchangeTimeoutMs: number;
  /** Bound on one debuginfo Upload stream. */
  uploadTimeoutMs?: number;
  /** The debuginfo a project may store unless it has a quota of its own; absent or 0: none. */
  debuginfoQuotaBytes?: number;
  /** A call refused after auth: its method and the reason slug (a metric label). */
  onRejected?: (method: string, reason: string) => void;
  /** A finished debuginfo upload: `ok` with its size, `rejected` (client error) or `failed`. */
  onUpload?: (result: "ok" | "rejected" | "failed" | "cancelled", bytes: number) => void;
}
