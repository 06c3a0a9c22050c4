import {
  type CounterChild,
  counterChild,
  type HistogramChild,
  histogramChild,
} from "../observability/metric-children.js";
import { grpcClientMetrics } from "../observability/grpc-client-metrics.js";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ServeConfig } from "../config/serve-flags.js";
import { AgentRegistry } from "../ingest/agent-registry.js";
import { DebuginfoStore } from "../ingest/debuginfo/debuginfo-store.js";
import type { AuthContext } from "../auth/principal.js";
import type { IngestDeps } from "../ingest/ingest-deps.js";
import { ingestServices } from "../ingest/ingest-services.js";
import { storeOtlp } from "../ingest/otlp-handlers.js";
import type { OtlpSignal } from "../rpc/otlp-signals.js";
import type { ForwardOptions } from "../upstream/forward-unary.js";
import type { JetStreamParts } from "../jetstream/open-jetstream.js";
import { LocalSink } from "../record-log/local-sink.js";
import { meteredSink } from "../observability/metered-sink.js";
import { grpcCodeName } from "../observability/metric-labels.js";
import type { ProfgateMetrics } from "../observability/metrics.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { openUpstream } from "../upstream/upstream-services.js";
import type { UpstreamSettings } from "../upstream/upstream-settings.js";

/** Where accepted calls go: the agent-facing services that store them here or forward them. */
export interface Destination {
  /** `local` or `upstream`, for the log. */
  kind: "local" | "upstream";
  /** The agent-facing services; the edge in front of them is the same either way. */
  services: ServiceBinding[];
  /** One OTLP Export request from the OTLP/HTTP listener, stored or forwarded like a gRPC one. */
  deliverOtlp(signal: OtlpSignal, auth: AuthContext, request: Buffer, options: ForwardOptions): Promise<void>;
  /** The upstream connection's state (readiness); undefined when storing locally. */
  connectivity(): string | undefined;
  /** Whether JetStream answers (readiness); undefined without `--sink jetstream` or `--spool jetstream`. */
  jetstream(): boolean | undefined;
  /** Flushes and closes: call after the listeners stopped. */
  close(): Promise<void>;
}

/**
 * The one choice between storing and forwarding: with `forwarding` settings, the same services
 * forwarded as bytes to the upstream (with `--spool`, durably spooled when it fails); otherwise
 * the handlers that validate and store into the durable local sink (or, with `jetstream`, publish
 * to JetStream) and the debuginfo store. With `jetstream` while forwarding, it is the spool.
 */
export async function openDestination(
  config: ServeConfig,
  dataDir: string,
  forwarding: UpstreamSettings | undefined,
  metrics: ProfgateMetrics,
  log: Logger,
  jetstream?: JetStreamParts,
): Promise<Destination> {
  const { ingest } = metrics;
  const jetstreamUp = () => jetstream?.available();
  if (forwarding) {
    const upstream = await openUpstream(forwarding, log, {
      uploadTimeoutMs: config.uploadTimeout,
      observer: grpcClientMetrics(metrics.grpcClient),
      spool: jetstream
        ? (deliver) =>
            jetstream.spool(deliver, {
              maxBackoffMs: config.spoolMaxBackoff,
              upstreamTimeoutMs: forwarding.timeoutMs,
            })
        : undefined,
      onUpstreamCall: upstreamCallMetrics(ingest),
    });
    const spoolGauges = setInterval(() => {
      const spool = upstream.spoolStats();
      if (!spool) return;
      ingest.spoolBacklogRecords.set(spool.backlogRecords);
      ingest.spoolBacklogBytes.set(spool.backlogBytes);
    }, 1000);
    spoolGauges.unref();
    return {
      kind: "upstream",
      services: upstream.services,
      deliverOtlp: (signal, auth, request, options) =>
        upstream.deliver(signal.method, auth, request, options),
      connectivity: () => upstream.connectivity(),
      jetstream: jetstreamUp,
      async close() {
        clearInterval(spoolGauges);
        await upstream.close();
      },
    };
  }
  const fsyncs = counterChild(ingest.sinkFsyncs, {});
  const sink = jetstream
    ? jetstream.sink()
    : await LocalSink.open({
        dir: join(dataDir, "sink"),
        onWarning: (message, details) => log.warn({ details }, message),
        onFsync: () => fsyncs.inc(),
      });
  const deps: IngestDeps = {
    sink: meteredSink(sink, metrics),
    debuginfo: new DebuginfoStore({ dir: join(dataDir, "debuginfo") }),
    agents: new AgentRegistry(),
    log,
    now: Date.now,
    writeExchangeTimeoutMs: 5000,
    uploadTimeoutMs: config.uploadTimeout,
    debuginfoQuotaBytes: config.debuginfoQuotaBytes,
    onRejected: (method, reason) => ingest.rejections.inc({ method, reason }),
    onUpload: (result, bytes) => {
      ingest.debuginfoUploads.inc({ result });
      ingest.debuginfoUploadBytes.inc(bytes);
    },
  };
  return {
    kind: "local",
    services: ingestServices(deps),
    deliverOtlp: (signal, auth, request) => storeOtlp(deps, signal, auth, request, Date.now()),
    connectivity: () => undefined,
    jetstream: jetstreamUp,
    close: () => sink.close(),
  };
}

/** `profgate_upstream_seconds` and `_errors_total`, their series resolved once per method and code. */
function upstreamCallMetrics(ingest: ProfgateMetrics["ingest"]) {
  const seconds = new Map<string, HistogramChild>();
  const errors = new Map<string, CounterChild>();
  return (method: string, elapsed: number, code: status) => {
    let histogram = seconds.get(method);
    if (!histogram) {
      histogram = histogramChild(ingest.upstreamSeconds, { method });
      seconds.set(method, histogram);
    }
    histogram.observe(elapsed);
    if (code === status.OK) return;
    const key = `${method} ${code}`;
    let counter = errors.get(key);
    if (!counter) {
      counter = counterChild(ingest.upstreamErrors, { method, code: grpcCodeName(code) });
      errors.set(key, counter);
    }
    counter.inc();
  };
}
