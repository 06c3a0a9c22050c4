import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DASHBOARD_FILE = fileURLToPath(new URL("../../deploy/grafana/profgate.json", import.meta.url));

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: DashboardTarget[];
}

export interface DashboardVariable {
  type: string;
  name: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Dashboard;
}

/** Every query of every panel, with where it comes from. */
export function panelQueries(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `${panel.title} (${target.refId})`, expr: target.expr })),
  );
}

/**
 * A query as Grafana sends it: `$var` and `${var}` replaced by `values`, and Grafana's own
 * `$__rate_interval` by `rateInterval`.
 */
export function substitute(expr: string, values: Record<string, string>, rateInterval: string): string {
  return expr
    .replaceAll("$__rate_interval", rateInterval)
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
      const name = braced ?? bare ?? "";
      const value = values[name];
      if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
      return value;
    });
}
