import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from "prom-client";
import { packageVersion } from "../version.js";
import { AUTH_CACHE_EVENTS, AUTH_REASONS } from "./metric-labels.js";

type GrpcLabels = "grpc_type" | "grpc_service" | "grpc_method";

/** The conventional gRPC server metrics, named and labelled as go-grpc-prometheus does. */
export interface GrpcServerMetrics {
  started: Counter<GrpcLabels>;
  handled: Counter<GrpcLabels | "grpc_code">;
  msgReceived: Counter<GrpcLabels>;
  msgSent: Counter<GrpcLabels>;
  handlingSeconds: Histogram<GrpcLabels>;
}

/** Every metric profgate exposes, registered on one injected registry. */
export interface ProfgateMetrics {
  grpc: GrpcServerMetrics;
  /** The same, `grpc_client_*`, for the calls made to the upstream. */
  grpcClient: GrpcServerMetrics;
  auth: {
    /** `result` is `allowed` or `denied`; `reason` is one of AUTH_REASONS. */
    decisions: Counter<"result" | "reason">;
    decisionSeconds: Histogram;
    cacheEvents: Counter<"event">;
  };
  ingest: {
    requests: Counter<"method">;
    bytes: Counter<"method">;
    /** `reason` is the DomainError reason slug of the refusal (a closed set in the code). */
    rejections: Counter<"method" | "reason">;
    sinkAppendSeconds: Histogram;
    sinkErrors: Counter<"reason">;
    /** fdatasync calls of the local sink: with the requests, the calls per fsync. */
    sinkFsyncs: Counter;
    upstreamSeconds: Histogram<"method">;
    /** `code` is a status code name (`grpcCodeName`). */
    upstreamErrors: Counter<"method" | "code">;
    spoolBacklogRecords: Gauge;
    spoolBacklogBytes: Gauge;
    /** `result` is one of DEBUGINFO_UPLOAD_RESULTS. */
    debuginfoUploads: Counter<"result">;
    debuginfoUploadBytes: Counter;
    /** OTLP/HTTP requests by signal (`ExportLogs`, ..., or `unknown`) and HTTP status code. */
    otlpHttpRequests: Counter<"method" | "code">;
  };
  /** Present only when per-project metrics were asked for: `project_id` grows with the projects. */
  project:
    | {
        ingestBytes: Counter<"project_id">;
        rateLimited: Counter<"project_id">;
      }
    | undefined;
  store: {
    up: Gauge;
    commandSeconds: Histogram<"operation">;
    reconnects: Counter;
  };
  /** The agent listener's connections. */
  connections: {
    open: Gauge;
    /** Where `open` is read at each scrape: the agent listener, once it listens. */
    countFrom(source: () => number): void;
    /** Connections closed at accept because their address is cooling down. */
    refused: Counter;
    /** Client addresses cut off: `reason` is what they did (`abandoned_streams`). */
    cutOffs: Counter<"reason">;
    /** Calls refused for passing a bound on incomplete messages: `bound` is `connection`, `address` or `total`. */
    pendingRefusals: Counter<"bound">;
  };
  /** 1 while the memory guard refuses new writes, 0 otherwise. */
  memoryShedding: Gauge;
  /** Changed TLS certificate files that could not be loaded (the previous certificate stays). */
  tlsReloadFailures: Counter;
}

export interface MetricsOptions {
  /** Adds the `project_id`-labelled metrics; off by default in deployments with many projects. */
  perProject: boolean;
}

// Calls range from a health check (sub-millisecond) to a Write exchange bounded at 5 s and
// debuginfo uploads of large binaries.
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
// A cached decision takes microseconds; a cold one waits for the store.
const AUTH_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1,
];
// A local append waits for a group-commit fsync; an upstream one for a round trip.
const SINK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const GRPC_LABELS = ["grpc_type", "grpc_service", "grpc_method"] as const;

/**
 * Creates and registers every profgate metric, and Node's process metrics, on `registry` (never
 * the global one, so that two gateways in one process, or tests, do not clash). Registering
 * twice on the same registry throws. Closed label sets are pre-set to zero so that their series
 * exist before the first event.
 */
export function createMetrics(registry: Registry, options: MetricsOptions): ProfgateMetrics {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const grpc: GrpcServerMetrics = {
    started: new Counter({
      name: "grpc_server_started_total",
      help: "Total number of RPCs started on the server.",
      labelNames: GRPC_LABELS,
      registers,
    }),
    handled: new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: [...GRPC_LABELS, "grpc_code"] as const,
      registers,
    }),
    msgReceived: new Counter({
      name: "grpc_server_msg_received_total",
      help: "Total number of RPC stream messages received on the server.",
      labelNames: GRPC_LABELS,
      registers,
    }),
    msgSent: new Counter({
      name: "grpc_server_msg_sent_total",
      help: "Total number of gRPC stream messages sent by the server.",
      labelNames: GRPC_LABELS,
      registers,
    }),
    handlingSeconds: new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames: GRPC_LABELS,
      buckets: CALL_BUCKETS,
      registers,
    }),
  };

  const grpcClient: GrpcServerMetrics = {
    started: new Counter({
      name: "grpc_client_started_total",
      help: "Total number of RPCs started on the client.",
      labelNames: GRPC_LABELS,
      registers,
    }),
    handled: new Counter({
      name: "grpc_client_handled_total",
      help: "Total number of RPCs completed by the client, regardless of success or failure.",
      labelNames: [...GRPC_LABELS, "grpc_code"] as const,
      registers,
    }),
    msgReceived: new Counter({
      name: "grpc_client_msg_received_total",
      help: "Total number of RPC stream messages received by the client.",
      labelNames: GRPC_LABELS,
      registers,
    }),
    msgSent: new Counter({
      name: "grpc_client_msg_sent_total",
      help: "Total number of gRPC stream messages sent by the client.",
      labelNames: GRPC_LABELS,
      registers,
    }),
    handlingSeconds: new Histogram({
      name: "grpc_client_handling_seconds",
      help: "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
      labelNames: GRPC_LABELS,
      buckets: CALL_BUCKETS,
      registers,
    }),
  };

  const auth: ProfgateMetrics["auth"] = {
    decisions: new Counter({
      name: "profgate_auth_decisions_total",
      help: "Auth decisions on incoming calls, by result (allowed, denied) and reason (why a call was refused).",
      labelNames: ["result", "reason"] as const,
      registers,
    }),
    decisionSeconds: new Histogram({
      name: "profgate_auth_decision_seconds",
      help: "Time to authenticate and authorize a call from its metadata, cache hits and store lookups alike.",
      buckets: AUTH_BUCKETS,
      registers,
    }),
    cacheEvents: new Counter({
      name: "profgate_auth_cache_events_total",
      help: "Auth cache events: hit, miss, negative_hit (known-unknown token), stale (served while the store is unreachable), invalidation.",
      labelNames: ["event"] as const,
      registers,
    }),
  };
  for (const reason of AUTH_REASONS) {
    auth.decisions.inc({ result: reason === "allowed" ? "allowed" : "denied", reason }, 0);
  }
  for (const event of AUTH_CACHE_EVENTS) auth.cacheEvents.inc({ event }, 0);

  return {
    ...runtimeMetrics(registry),
    grpc,
    grpcClient,
    auth,
    ingest: ingestMetrics(registry),
    project: options.perProject ? projectMetrics(registry) : undefined,
    store: storeMetrics(registry),
    connections: connectionMetrics(registry),
  };
}

function connectionMetrics(registry: Registry): ProfgateMetrics["connections"] {
  const registers = [registry];
  let openConnections = () => 0;
  const cutOffs = new Counter({
    name: "profgate_peer_cutoffs_total",
    help: "Client addresses whose gRPC connections were closed and whose new ones are refused for a cool-down, by what they did.",
    labelNames: ["reason"] as const,
    registers,
  });
  cutOffs.inc({ reason: "abandoned_streams" }, 0);
  const pendingRefusals = new Counter({
    name: "profgate_pending_refusals_total",
    help: "Calls refused because the bytes of incomplete messages would pass a bound (--max-pending-bytes*), by bound.",
    labelNames: ["bound"] as const,
    registers,
  });
  for (const bound of ["connection", "address", "total"]) pendingRefusals.inc({ bound }, 0);
  return {
    open: new Gauge({
      name: "profgate_grpc_connections",
      help: "Open connections on the agent (gRPC) listener.",
      registers,
      collect() {
        this.set(openConnections());
      },
    }),
    refused: new Counter({
      name: "profgate_grpc_connections_refused_total",
      help: "Connections to the agent listener closed at accept because their client address is cooling down.",
      registers,
    }),
    cutOffs,
    pendingRefusals,
    countFrom(source) {
      openConnections = source;
    },
  };
}

function ingestMetrics(registry: Registry): ProfgateMetrics["ingest"] {
  const registers = [registry];
  return {
    requests: new Counter({
      name: "profgate_ingest_requests_total",
      help: "Ingestion requests accepted by a handler (after auth), by method.",
      labelNames: ["method"] as const,
      registers,
    }),
    bytes: new Counter({
      name: "profgate_ingest_bytes_total",
      help: "Payload bytes received by ingestion methods, as sent by the agent.",
      labelNames: ["method"] as const,
      registers,
    }),
    rejections: new Counter({
      name: "profgate_ingest_rejections_total",
      help: "Ingestion requests refused after auth, by method and reason (validation, quota, sink).",
      labelNames: ["method", "reason"] as const,
      registers,
    }),
    sinkAppendSeconds: new Histogram({
      name: "profgate_sink_append_seconds",
      help: "Time for the sink to make a record durable (local: fsynced; upstream: acknowledged).",
      buckets: SINK_BUCKETS,
      registers,
    }),
    sinkErrors: new Counter({
      name: "profgate_sink_errors_total",
      help: "Sink appends that failed, by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    sinkFsyncs: new Counter({
      name: "profgate_sink_fsyncs_total",
      help: "fdatasync calls of the local sink, each making every write since the previous one durable; rate(profgate_ingest_requests_total) / rate(this) is the calls per fsync.",
      registers,
    }),
    upstreamSeconds: new Histogram({
      name: "profgate_upstream_seconds",
      help: "Duration of calls forwarded to the upstream Parca server, by method.",
      labelNames: ["method"] as const,
      buckets: SINK_BUCKETS,
      registers,
    }),
    upstreamErrors: new Counter({
      name: "profgate_upstream_errors_total",
      help: "Calls to the upstream Parca server that failed, by method and gRPC status code.",
      labelNames: ["method", "code"] as const,
      registers,
    }),
    spoolBacklogRecords: new Gauge({
      name: "profgate_spool_backlog_records",
      help: "Records spooled locally and not yet forwarded upstream.",
      registers,
    }),
    spoolBacklogBytes: new Gauge({
      name: "profgate_spool_backlog_bytes",
      help: "Bytes spooled locally and not yet forwarded upstream.",
      registers,
    }),
    debuginfoUploads: new Counter({
      name: "profgate_debuginfo_uploads_total",
      help: "Debuginfo uploads that ended, by result (ok, rejected, failed, cancelled by the client).",
      labelNames: ["result"] as const,
      registers,
    }),
    debuginfoUploadBytes: new Counter({
      name: "profgate_debuginfo_upload_bytes_total",
      help: "Bytes of debuginfo received by uploads.",
      registers,
    }),
    otlpHttpRequests: new Counter({
      name: "profgate_otlp_http_requests_total",
      help: "OTLP/HTTP requests by signal (the record method, or unknown) and HTTP status code.",
      labelNames: ["method", "code"] as const,
      registers,
    }),
  };
}

function projectMetrics(registry: Registry): NonNullable<ProfgateMetrics["project"]> {
  const registers = [registry];
  return {
    ingestBytes: new Counter({
      name: "profgate_project_ingest_bytes_total",
      help: "Payload bytes accepted for ingestion, per project.",
      labelNames: ["project_id"] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: "profgate_project_rate_limited_total",
      help: "Ingestion requests refused by a project's rate limit or quota, per project.",
      labelNames: ["project_id"] as const,
      registers,
    }),
  };
}

function storeMetrics(registry: Registry): ProfgateMetrics["store"] {
  const registers = [registry];
  return {
    up: new Gauge({
      name: "profgate_store_up",
      help: "Whether the IAM store is reachable (1) or not (0).",
      registers,
    }),
    commandSeconds: new Histogram({
      name: "profgate_store_command_seconds",
      help: "Duration of IAM store commands, by operation.",
      labelNames: ["operation"] as const,
      buckets: STORE_BUCKETS,
      registers,
    }),
    reconnects: new Counter({
      name: "profgate_store_reconnects_total",
      help: "Times the connection to the IAM store was re-established after being lost.",
      registers,
    }),
  };
}

/**
 * The version in package.json, which sits two levels above this file in src/ and in dist/ alike;
 * `unknown` where a packaging left it out, rather than a gateway that does not start over a label.
 */
function runtimeMetrics(registry: Registry): Pick<ProfgateMetrics, "memoryShedding" | "tlsReloadFailures"> {
  const registers = [registry];
  new Gauge({
    name: "profgate_build_info",
    help: "Always 1; the labels say which profgate version runs on which Node version.",
    labelNames: ["version", "node"] as const,
    registers,
  }).set({ version: packageVersion(), node: process.version }, 1);
  return {
    memoryShedding: new Gauge({
      name: "profgate_memory_shedding",
      help: "1 while the heap is above the memory soft limit and new writes get UNAVAILABLE, else 0.",
      registers,
    }),
    tlsReloadFailures: new Counter({
      name: "profgate_tls_reload_failures_total",
      help: "Changed TLS certificate or key files that could not be loaded; the previous certificate is still served.",
      registers,
    }),
  };
}
