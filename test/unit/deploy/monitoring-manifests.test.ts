import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type IPrometheusRule,
  PrometheusRule,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import {
  type IServiceMonitor,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { readAlertGroups } from "../../support/alert-rules.js";
import { all, DEPLOY_DIR, KUSTOMIZATION, NAMESPACE, REPO_ROOT, selects } from "./manifest-set.js";

const run = promisify(execFile);
const MONITORING_DIR = join(DEPLOY_DIR, "monitoring");
const GENERATOR = join(REPO_ROOT, "scripts", "gen-prometheus-rule.mjs");
// What a Prometheus rule may hold; the API server silently drops anything else (a misspelt `annotation`).
const RULE_KEYS = new Set(["alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"]);

/** The one document of a file in deploy/kubernetes/monitoring, read as kubectl reads YAML (1.1). */
function readOne(file: string): unknown {
  const text = readFileSync(join(MONITORING_DIR, file), "utf8");
  const as11 = parseAllDocuments(text, { version: "1.1" });
  const as12 = parseAllDocuments(text, { version: "1.2" });
  if (!Array.isArray(as11) || !Array.isArray(as12)) throw new Error(`${file}: no documents`);
  expect(as11.length, file).toBe(1);
  expect([...as11[0]!.errors, ...as11[0]!.warnings], file).toEqual([]);
  expect(as11[0]!.toJS(), `${file} reads the same as YAML 1.1 and 1.2`).toEqual(as12[0]!.toJS());
  return as11[0]!.toJS();
}

const gatewayService = () => {
  const found = all<IService>("Service").filter((s) => s.metadata?.name === "profgate");
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe("deploy/kubernetes/monitoring (Prometheus Operator)", () => {
  it("holds exactly what its kustomization lists", () => {
    const kustomization = parse(readFileSync(join(MONITORING_DIR, KUSTOMIZATION), "utf8")) as {
      resources: string[];
    };
    const files = readdirSync(MONITORING_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== KUSTOMIZATION);
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it("has a PrometheusRule generated from the current deploy/prometheus/alerts.yaml", async () => {
    const { stdout } = await run(process.execPath, [GENERATOR, "--stdout"]);
    expect(
      readFileSync(join(MONITORING_DIR, "prometheusrule.yaml"), "utf8"),
      "stale: run node scripts/gen-prometheus-rule.mjs",
    ).toBe(stdout);
  });

  it("has a PrometheusRule that the operator's schema accepts, holding every alert of alerts.yaml", () => {
    const rule = readOne("prometheusrule.yaml") as IPrometheusRule;
    expect(() => new PrometheusRule(rule).validate()).not.toThrow();
    expect(rule.metadata?.namespace).toBe(NAMESPACE);
    expect(rule.spec.groups).toEqual(readAlertGroups());
    for (const group of rule.spec.groups ?? []) {
      for (const r of group.rules ?? []) {
        expect(
          Object.keys(r).filter((key) => !RULE_KEYS.has(key)),
          r.alert,
        ).toEqual([]);
      }
    }
  });

  it("has a ServiceMonitor that scrapes the gateway's Service, and only it, as the job the alerts select", () => {
    const monitor = readOne("servicemonitor.yaml") as IServiceMonitor;
    expect(() => new ServiceMonitor(monitor).validate()).not.toThrow();
    expect(monitor.metadata?.namespace).toBe(NAMESPACE);
    const service = gatewayService();
    const selected = all<IService>("Service").filter((s) =>
      selects(monitor.spec.selector.matchLabels, s.metadata?.labels),
    );
    expect(selected.map((s) => s.metadata?.name)).toEqual(["profgate"]);
    expect(monitor.spec.namespaceSelector?.matchNames ?? [NAMESPACE]).toEqual([NAMESPACE]);
    const ports = new Set((service.spec?.ports ?? []).map((p) => p.name));
    for (const endpoint of monitor.spec.endpoints ?? []) {
      expect(ports, `endpoint port ${endpoint.port}`).toContain(endpoint.port);
      expect(endpoint.path ?? "/metrics").toBe("/metrics");
    }
    // Without jobLabel the operator names the job after the Service: the alerts' `job="profgate"`.
    expect(monitor.spec.jobLabel).toBeUndefined();
    const jobs = new Set(
      readAlertGroups()
        .flatMap((g) => g.rules)
        .flatMap((r) => [...r.expr.matchAll(/job="([^"]*)"/g)].map((m) => m[1])),
    );
    expect([...jobs]).toEqual([service.metadata?.name]);
  });
});
