import { describe, expect, it } from "vitest";
import { type DashboardPanel, panelQueries, readDashboard } from "../../support/grafana-dashboard.js";

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
/** What an operator opens the dashboard for; each must be on it. */
const SIGNALS = [
  "grpc_server_handled_total",
  "grpc_server_handling_seconds_bucket",
  "profgate_auth_decisions_total",
  "profgate_auth_cache_events_total",
  "profgate_ingest_bytes_total",
  "profgate_spool_backlog_bytes",
  "profgate_upstream_errors_total",
  "profgate_store_up",
  "profgate_store_command_seconds_bucket",
  "process_resident_memory_bytes",
  "profgate_memory_shedding",
  "profgate_grpc_connections",
];

const overlap = (a: DashboardPanel["gridPos"], b: DashboardPanel["gridPos"]) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe("deploy/grafana/profgate.json", () => {
  const dashboard = readDashboard();
  const panels = dashboard.panels.filter((p) => p.type !== "row");

  it("is a Grafana 10/11 dashboard with a data source, a job and an instance variable", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
    expect(dashboard.uid).toBe("profgate");
    const variables = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables["datasource"]).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(variables["job"]).toMatchObject({ type: "query", datasource: DATASOURCE });
    expect(variables["instance"]).toMatchObject({ type: "query", datasource: DATASOURCE, includeAll: true });
  });

  it("asks the chosen data source in every panel and query", () => {
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual(DATASOURCE);
    }
  });

  it("filters every series selector by the job and instance variables", () => {
    for (const { where, expr } of panelQueries(dashboard)) {
      const selectors = [...expr.matchAll(/[a-z_:]+\{([^}]*)\}/g)].map((m) => m[1]);
      expect(selectors.length, where).toBeGreaterThan(0);
      for (const selector of selectors) {
        expect(selector, where).toContain('job=~"$job"');
        expect(selector, where).toContain('instance=~"$instance"');
      }
    }
  });

  it("lays panels out on the 24-column grid without overlaps, with unique ids", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    dashboard.panels.forEach((a, i) => {
      expect(a.gridPos.x + a.gridPos.w, a.title).toBeLessThanOrEqual(24);
      for (const b of dashboard.panels.slice(i + 1)) {
        expect(overlap(a.gridPos, b.gridPos), `${a.title} / ${b.title}`).toBe(false);
      }
    });
  });

  it("shows the golden signals, auth, ingest, spool, store, memory and connections", () => {
    const text = panelQueries(dashboard)
      .map((q) => q.expr)
      .join("\n");
    for (const metric of SIGNALS) expect(text, metric).toContain(metric);
  });
});
