import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const PROMETHEUS_DIR = fileURLToPath(new URL("../../deploy/prometheus/", import.meta.url));
export const ALERTS_FILE = `${PROMETHEUS_DIR}alerts.yaml`;
export const ALERTS_TEST_FILE = `${PROMETHEUS_DIR}alerts.test.yaml`;

/** One alerting rule of deploy/prometheus/alerts.yaml. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rule groups of deploy/prometheus/alerts.yaml, as Prometheus reads them. */
export function readAlertGroups(): Array<{ name: string; rules: AlertRule[] }> {
  return (parse(readFileSync(ALERTS_FILE, "utf8")) as { groups: Array<{ name: string; rules: AlertRule[] }> })
    .groups;
}

/** Every alerting rule of deploy/prometheus/alerts.yaml. */
export function readAlerts(): AlertRule[] {
  return readAlertGroups().flatMap((group) => group.rules);
}
