import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERTS_FILE, readAlerts } from "../support/alert-rules.js";
import { profgate } from "../support/cli.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { panelQueries, readDashboard, substitute } from "../support/grafana-dashboard.js";
import { type PrometheusServer, startPrometheus } from "../support/prometheus-server.js";
import { tempDir } from "../support/temp-dir.js";
import { edgeArgs } from "../support/upstream-hops.js";

const JOB = "profgate";
// Wide enough to reach back over the whole load run, whenever the queries run after it.
const RATE_INTERVAL = "1m";
/** Alert expressions that hold in this session, because it makes that trouble on purpose. */
const TROUBLE = {
  // 40% of the edge's calls carry unknown tokens.
  ProfgateAuthDenials: { reason: "unknown_token" },
  // The core's rate limit refuses most forwarded writes...
  ProfgateWritesThrottled: { grpc_method: "WriteArrow" },
  // ...which the edge sees as upstream errors.
  ProfgateUpstreamErrors: { code: "RESOURCE_EXHAUSTED" },
};
/** Alert expressions that must stay empty here: nothing of the kind happens. */
const QUIET = [
  "ProfgateDown",
  "ProfgateTargetsMissing",
  "ProfgateAuthStoreUnreachable",
  "ProfgateDiskErrors",
  "ProfgateNothingArrives",
  "ProfgateMemoryShedding",
  "ProfgateTlsReloadFailing",
];
/** Alerts whose expression without its threshold is empty here too, and why. */
const NOTHING_TO_MEASURE: Record<string, string> = {
  ProfgateServerErrors: "no call fails on the gateways' side: no INTERNAL, UNKNOWN, DATA_LOSS or UNAVAILABLE",
  ProfgateDiskErrors: "no append fails, so profgate_sink_errors_total has no series",
  ProfgatePayloadsRefused: "the load generator's payloads are valid: no rejection but rate_limited",
  ProfgateSpoolBacklogGrowing: "a refused write is not spooled: the backlog stays 0",
};
const THRESHOLD = /\s*(?:>|<|==|!=|>=|<=)\s*[0-9.]+\s*$/;

/** Every series name the gateway's /metrics declares, histogram and summary parts included. */
async function exportedNames(gateway: GatewayProcess): Promise<Set<string>> {
  const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === "histogram") for (const part of ["_bucket", "_sum", "_count"]) names.add(`${name}${part}`);
    if (type === "summary") for (const part of ["_sum", "_count"]) names.add(`${name}${part}`);
  }
  return names;
}

const metricNames = (expr: string) =>
  [...expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!).filter((n) => n !== "up");

describe("the Grafana dashboard and the alert rules, on a real Prometheus scraping real gateways", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let core: GatewayProcess;
  let edge: GatewayProcess;
  let prometheus: PrometheusServer;
  let instances: string[];

  beforeAll(async () => {
    dir = await tempDir();
    const coreDir = join(dir.path, "core");
    const edgeDir = join(dir.path, "edge");
    // A core in local mode with a tight per-project rate limit, and an edge forwarding to it with
    // a spool: every panel then has something to show, upstream and refusals included.
    core = await startGateway(coreDir, ["--rate-limit-bytes-per-second", "32KiB"]);
    const coreBoot = await readBootstrap(coreDir);
    // No failed-auth limit on the edge: its unknown-token denials then grow for the whole run. With the
    // default burst (50) they can all land before Prometheus's first scrape, and a counter that never
    // moves after its first sample has no rate.
    edge = await startGateway(edgeDir, [
      ...edgeArgs(core.target, coreDir, coreBoot.projectId),
      "--spool",
      "--auth-failure-burst",
      "0",
    ]);
    instances = [core.httpUrl, edge.httpUrl].map((url) => new URL(url).host);
    prometheus = await startPrometheus({ job: JOB, targets: instances, ruleFiles: [ALERTS_FILE] });

    const edgeBoot = await readBootstrap(edgeDir);
    // OTLP/HTTP beside the agents' gRPC: profiles, logs, metrics and traces to the edge's listener.
    const otlp = profgate([
      "loadgen",
      "--target",
      edge.target,
      "--otlp-http",
      edge.otlpHttpUrl,
      "--mix",
      "otlpprofiles=1,otlplogs=1,otlpmetrics=1,otlptraces=1",
      "--payload-bytes",
      "1024",
      "--token-file",
      join(edgeDir, "agent.token"),
      "--project",
      edgeBoot.projectId,
      "--agents",
      "1",
      "--interval",
      "1s",
      "--duration",
      "5s",
      "-o",
      "json",
    ]);
    const load = await profgate([
      "loadgen",
      "--target",
      edge.target,
      "--token-file",
      join(edgeDir, "agent.token"),
      "--project",
      edgeBoot.projectId,
      "--agents",
      "4",
      "--interval",
      "250ms",
      "--duration",
      "10s",
      "--payload-bytes",
      "16384",
      "--junk-ratio",
      "0.4",
      "--report-interval",
      "10s",
      "-o",
      "json",
    ]);
    expect(load.code, load.stderr).toBe(0);
    const otlpLoad = await otlp;
    expect(otlpLoad.code, `${otlpLoad.stderr}\n${otlpLoad.stdout}`).toBe(0);

    // Traffic is over: wait until Prometheus holds what each gateway counted last.
    for (const gateway of [core, edge]) {
      const instance = new URL(gateway.httpUrl).host;
      const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
      const handled = [...text.matchAll(/^grpc_server_handled_total\{.*\} (\d+)$/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
      expect(handled, `${instance} handled calls`).toBeGreaterThan(0);
      const deadline = Date.now() + 15_000;
      let scraped = -1;
      while (scraped !== handled && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        const answer = await prometheus.query(`sum(grpc_server_handled_total{instance="${instance}"})`);
        scraped = answer.ok ? Number(answer.series[0]?.value[1] ?? -1) : -1;
      }
      expect(scraped, `Prometheus has scraped ${instance} since the load ended`).toBe(handled);
    }
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await edge?.stop();
    await core?.stop();
    await dir?.remove();
  });

  it("fills the dashboard's job and instance variables from the gateways' build info", async () => {
    const jobs = await prometheus.api<string[]>("/api/v1/label/job/values?match[]=profgate_build_info");
    expect(jobs).toEqual([JOB]);
    const found = await prometheus.api<string[]>(
      `/api/v1/label/instance/values?match[]=${encodeURIComponent(`profgate_build_info{job=~"${JOB}"}`)}`,
    );
    expect(found.sort()).toEqual([...instances].sort());
  });

  it("answers every panel's query with at least one series", async () => {
    const values = { job: JOB, instance: instances.join("|") };
    const failures: string[] = [];
    const queries = panelQueries(readDashboard());
    expect(queries.length).toBeGreaterThan(20);
    for (const { where, expr } of queries) {
      const answer = await prometheus.query(substitute(expr, values, RATE_INTERVAL));
      if (!answer.ok) failures.push(`${where}: ${answer.error}`);
      else if (answer.series.length === 0) failures.push(`${where}: no series`);
    }
    expect(failures).toEqual([]);
  });

  it("evaluates every alert: Prometheus loaded them all, each parses, and holds only where there is trouble", async () => {
    const alerts = readAlerts();
    const groups = await prometheus.api<{
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
    }>("/api/v1/rules?type=alert");
    const loaded = groups.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(alerts.map((a) => a.alert).sort());
    for (const rule of loaded) expect(rule.lastError ?? "", rule.name).toBe("");

    const holding: Record<string, Array<Record<string, string>>> = {};
    const failures: string[] = [];
    for (const { alert, expr } of alerts) {
      const answer = await prometheus.query(expr);
      if (!answer.ok) {
        failures.push(`${alert}: ${answer.error}`);
        continue;
      }
      if (answer.series.length > 0) holding[alert] = answer.series.map((s) => s.metric);
      // Without its threshold, the rate or ratio the alert watches: measured, whether or not it fires.
      if (THRESHOLD.test(expr) && !(alert in NOTHING_TO_MEASURE)) {
        const inner = await prometheus.query(expr.replace(THRESHOLD, ""));
        if (!inner.ok || inner.series.length === 0)
          failures.push(`${alert} without its threshold: no series`);
      }
    }
    expect(failures).toEqual([]);
    for (const [alert, labels] of Object.entries(TROUBLE)) {
      expect(holding[alert], alert).toEqual(expect.arrayContaining([expect.objectContaining(labels)]));
    }
    for (const alert of QUIET) expect(holding[alert], alert).toBeUndefined();
  });

  it("uses only metrics the gateway exports", async () => {
    const exported = new Set([...(await exportedNames(core)), ...(await exportedNames(edge))]);
    const used = [
      ...panelQueries(readDashboard()).map((q) => ({ where: q.where, expr: q.expr })),
      ...readAlerts().map((a) => ({ where: a.alert, expr: a.expr })),
    ];
    const unknown = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });
});
