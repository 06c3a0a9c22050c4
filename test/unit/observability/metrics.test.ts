import { readFileSync } from "node:fs";
import { Registry, register as globalRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { authMetricsHooks } from "../../../src/observability/auth-metrics.js";
import { createMetrics } from "../../../src/observability/metrics.js";

const GRPC = ["grpc_type", "grpc_service", "grpc_method"];

/** Every profgate metric and its labels; process metrics come on top. */
const EXPECTED: Record<string, string[]> = {
  grpc_server_started_total: GRPC,
  grpc_server_handled_total: [...GRPC, "grpc_code"],
  grpc_server_msg_received_total: GRPC,
  grpc_server_msg_sent_total: GRPC,
  grpc_server_handling_seconds: GRPC,
  grpc_client_started_total: GRPC,
  grpc_client_handled_total: [...GRPC, "grpc_code"],
  grpc_client_msg_received_total: GRPC,
  grpc_client_msg_sent_total: GRPC,
  grpc_client_handling_seconds: GRPC,
  profgate_auth_decisions_total: ["result", "reason"],
  profgate_auth_decision_seconds: [],
  profgate_auth_cache_events_total: ["event"],
  profgate_ingest_requests_total: ["method"],
  profgate_ingest_bytes_total: ["method"],
  profgate_ingest_rejections_total: ["method", "reason"],
  profgate_sink_append_seconds: [],
  profgate_sink_errors_total: ["reason"],
  profgate_sink_fsyncs_total: [],
  profgate_upstream_seconds: ["method"],
  profgate_upstream_errors_total: ["method", "code"],
  profgate_spool_backlog_records: [],
  profgate_spool_backlog_bytes: [],
  profgate_debuginfo_uploads_total: ["result"],
  profgate_debuginfo_upload_bytes_total: [],
  profgate_store_up: [],
  profgate_store_command_seconds: ["operation"],
  profgate_store_reconnects_total: [],
  profgate_grpc_connections: [],
  profgate_grpc_connections_refused_total: [],
  profgate_peer_cutoffs_total: ["reason"],
  profgate_pending_refusals_total: ["bound"],
  profgate_otlp_http_requests_total: ["method", "code"],
  profgate_build_info: ["version", "node"],
  profgate_memory_shedding: [],
  profgate_tls_reload_failures_total: [],
};
const PER_PROJECT: Record<string, string[]> = {
  profgate_project_ingest_bytes_total: ["project_id"],
  profgate_project_rate_limited_total: ["project_id"],
};

function ownMetrics(registry: Registry): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const metric of registry.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
    if (name.startsWith("grpc_") || name.startsWith("profgate_")) out[name] = [...labelNames];
  }
  return out;
}

describe("createMetrics", () => {
  it("registers exactly profgate's metrics, with their labels and help, and the process metrics", async () => {
    const registry = new Registry();
    createMetrics(registry, { perProject: false });
    expect(ownMetrics(registry)).toEqual(EXPECTED);
    for (const metric of await registry.getMetricsAsJSON()) expect(metric.help.length).toBeGreaterThan(10);
    const names = registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name);
    expect(names).toEqual(
      expect.arrayContaining(["process_cpu_user_seconds_total", "nodejs_eventloop_lag_seconds"]),
    );
  });

  it("adds the per-project metrics only when asked to", () => {
    const registry = new Registry();
    const metrics = createMetrics(registry, { perProject: true });
    expect(ownMetrics(registry)).toEqual({ ...EXPECTED, ...PER_PROJECT });
    expect(metrics.project).toBeDefined();
    expect(createMetrics(new Registry(), { perProject: false }).project).toBeUndefined();
  });

  it("keeps registries apart: two coexist, the global one stays empty, and a second registration on one throws", async () => {
    const a = new Registry();
    const b = new Registry();
    const first = createMetrics(a, { perProject: false });
    createMetrics(b, { perProject: false });
    first.store.up.set(1);
    expect(await a.getSingleMetricAsString("profgate_store_up")).toContain("profgate_store_up 1");
    expect(await b.getSingleMetricAsString("profgate_store_up")).toContain("profgate_store_up 0");
    expect(globalRegistry.getSingleMetric("grpc_server_started_total")).toBeUndefined();
    expect(() => createMetrics(a, { perProject: false })).toThrow(/already been registered/);
  });

  it("exposes every auth reason and cache event at zero before the first call", async () => {
    const registry = new Registry();
    createMetrics(registry, { perProject: false });
    const text = await registry.metrics();
    expect(text).toContain('profgate_auth_decisions_total{result="allowed",reason="allowed"} 0');
    expect(text).toContain('profgate_auth_decisions_total{result="denied",reason="store_unavailable"} 0');
    expect(text).toContain('profgate_auth_cache_events_total{event="negative_hit"} 0');
    expect(text).toContain('profgate_peer_cutoffs_total{reason="abandoned_streams"} 0');
  });

  it("says which profgate and which Node run, and starts with no shedding and no failed TLS reload", async () => {
    const registry = new Registry();
    createMetrics(registry, { perProject: false });
    const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
    const text = await registry.metrics();
    expect(text).toContain(`profgate_build_info{version="${version}",node="${process.version}"} 1`);
    expect(text).toContain("profgate_memory_shedding 0");
    expect(text).toContain("profgate_tls_reload_failures_total 0");
  });

  it("reads the open connections at each scrape", async () => {
    const registry = new Registry();
    let open = 3;
    createMetrics(registry, { perProject: false }).connections.countFrom(() => open);
    expect(await registry.getSingleMetricAsString("profgate_grpc_connections")).toContain(
      "profgate_grpc_connections 3",
    );
    open = 0;
    expect(await registry.getSingleMetricAsString("profgate_grpc_connections")).toContain(
      "profgate_grpc_connections 0",
    );
  });
});

describe("authMetricsHooks", () => {
  it("counts decisions by closed reason, folding an unexpected reason into internal", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry, { perProject: false });
    const hooks = authMetricsHooks(metrics.auth);
    hooks.onDecision({ path: "/p.S/M", allowed: true, reason: "allowed", seconds: 0.0001 });
    hooks.onDecision({ path: "/p.S/M", allowed: false, reason: "unknown_token", seconds: 0.002 });
    hooks.onDecision({
      path: "/p.S/M",
      allowed: false,
      reason: "psc_v1_something_unbounded",
      seconds: 0.002,
    });
    hooks.onCacheEvent("miss");
    const text = await registry.metrics();
    expect(text).toContain('profgate_auth_decisions_total{result="allowed",reason="allowed"} 1');
    expect(text).toContain('profgate_auth_decisions_total{result="denied",reason="unknown_token"} 1');
    expect(text).toContain('profgate_auth_decisions_total{result="denied",reason="internal"} 1');
    expect(text).not.toContain("psc_v1_");
    expect(text).toContain("profgate_auth_decision_seconds_count 3");
    expect(text).toContain('profgate_auth_cache_events_total{event="miss"} 1');
  });
});
