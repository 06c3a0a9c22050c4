import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonSet, type IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { type IStatefulSet, StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { type INetworkPolicy, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import {
  type IPodDisruptionBudget,
  PodDisruptionBudget,
} from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole, type IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import {
  ClusterRoleBinding,
  type IClusterRoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { type INamespace, Namespace } from "kubernetes-models/v1/Namespace";
import { type ISecret, Secret } from "kubernetes-models/v1/Secret";
import { type IService, Service } from "kubernetes-models/v1/Service";
import { type IServiceAccount, ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  all,
  allManifests,
  DEPLOY_DIR,
  declaredPort,
  KUSTOMIZATION,
  generatedSecrets,
  manifestFiles,
  NAMESPACE,
  selects,
  workloads,
} from "./manifest-set.js";

/** The schema of each kind the manifests use; a new kind must be added here to be validated. */
const SCHEMAS: Record<string, (object: object) => void> = {
  "v1 Namespace": (o) => new Namespace(o as INamespace).validate(),
  "v1 Service": (o) => new Service(o as IService).validate(),
  "v1 Secret": (o) => new Secret(o as ISecret).validate(),
  "v1 ServiceAccount": (o) => new ServiceAccount(o as IServiceAccount).validate(),
  "apps/v1 Deployment": (o) => new Deployment(o as IDeployment).validate(),
  "apps/v1 StatefulSet": (o) => new StatefulSet(o as IStatefulSet).validate(),
  "apps/v1 DaemonSet": (o) => new DaemonSet(o as IDaemonSet).validate(),
  "policy/v1 PodDisruptionBudget": (o) => new PodDisruptionBudget(o as IPodDisruptionBudget).validate(),
  "networking.k8s.io/v1 NetworkPolicy": (o) => new NetworkPolicy(o as INetworkPolicy).validate(),
  "rbac.authorization.k8s.io/v1 ClusterRole": (o) => new ClusterRole(o as IClusterRole).validate(),
  "rbac.authorization.k8s.io/v1 ClusterRoleBinding": (o) =>
    new ClusterRoleBinding(o as IClusterRoleBinding).validate(),
};
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);

const where = (m: { file: string; index: number }) => `${m.file}#${m.index}`;

describe("deploy/kubernetes manifests", () => {
  it("parse as YAML, and the same as YAML 1.1 (kubectl) and 1.2 (no unquoted yes, no, on, 0400)", () => {
    const manifests = allManifests();
    expect(manifests.length).toBeGreaterThan(0);
    expect(manifests.flatMap((m) => m.problems)).toEqual([]);
    for (const m of manifests) expect(m.object, where(m)).toEqual(m.asYaml12);
    for (const file of manifestFiles()) {
      expect(
        manifests.some((m) => m.file === file),
        `${file} holds no document`,
      ).toBe(true);
    }
  });

  it("are each valid against the Kubernetes schema of their apiVersion and kind", () => {
    const failures: string[] = [];
    for (const m of allManifests()) {
      const { apiVersion, kind, metadata } = m.object;
      const validate = SCHEMAS[`${apiVersion} ${kind}`];
      if (!validate) {
        failures.push(`${where(m)}: no schema for ${apiVersion} ${kind}; add it to SCHEMAS`);
        continue;
      }
      try {
        validate(m.object);
      } catch (error) {
        failures.push(`${where(m)} ${kind}/${metadata?.name}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("are all listed in the kustomization, which lists nothing else", () => {
    const kustomization = parse(readFileSync(join(DEPLOY_DIR, KUSTOMIZATION), "utf8")) as {
      kind: string;
      resources: string[];
    };
    expect(kustomization.kind).toBe("Kustomization");
    expect([...kustomization.resources].sort()).toEqual(manifestFiles());
    expect(new Set(kustomization.resources).size).toBe(kustomization.resources.length);
  });

  it("put every namespaced object in the profgate namespace, which they create", () => {
    expect(all("Namespace").map((n) => n.metadata.name)).toEqual([NAMESPACE]);
    for (const m of allManifests()) {
      const expected = CLUSTER_SCOPED.has(m.object.kind) ? undefined : NAMESPACE;
      expect(m.object.metadata?.namespace, where(m)).toBe(expected);
    }
  });

  it("name each object once per kind", () => {
    const keys = allManifests().map((m) => `${m.object.kind}/${m.object.metadata?.name}`);
    expect(keys.length).toBe(new Set(keys).size);
  });

  it("select each workload's pods by labels its pod template carries", () => {
    for (const m of allManifests()) {
      if (!["Deployment", "StatefulSet", "DaemonSet"].includes(m.object.kind)) continue;
      const spec = (m.object as unknown as IDeployment).spec!;
      expect(spec.selector.matchExpressions, where(m)).toBeUndefined();
      expect(selects(spec.selector.matchLabels, spec.template.metadata?.labels), where(m)).toBe(true);
    }
  });

  it("give each Service the pods of exactly one workload, at ports those pods declare", () => {
    const pods = workloads();
    for (const service of all<IService>("Service")) {
      const name = service.metadata!.name;
      const selected = pods.filter((p) => selects(service.spec!.selector, p.template.metadata?.labels));
      expect(
        selected.map((p) => `${p.kind}/${p.name}`),
        `Service ${name}`,
      ).toHaveLength(1);
      const containers = selected[0]!.template.spec!.containers;
      for (const port of service.spec!.ports ?? []) {
        const target = port.targetPort ?? port.port;
        const declared = containers.some((c) => declaredPort(c, target) !== undefined);
        expect(declared, `Service ${name} port ${port.name} -> ${target}`).toBe(true);
      }
    }
  });

  it("let a StatefulSet's serviceName name a Service that selects its pods", () => {
    for (const set of all<IStatefulSet>("StatefulSet")) {
      const service = all<IService>("Service").find((s) => s.metadata!.name === set.spec!.serviceName);
      expect(service, `StatefulSet ${set.metadata!.name}`).toBeDefined();
      expect(selects(service!.spec!.selector, set.spec!.template.metadata?.labels)).toBe(true);
    }
  });

  it("give every container resource requests and a memory limit", () => {
    for (const w of workloads()) {
      for (const c of w.template.spec!.containers) {
        const at = `${w.kind}/${w.name} ${c.name}`;
        expect(c.resources?.requests?.["cpu"], at).toBeDefined();
        expect(c.resources?.requests?.["memory"], at).toBeDefined();
        expect(c.resources?.limits?.["memory"], at).toBeDefined();
      }
    }
  });

  it("name ports as Kubernetes requires (IANA service names of at most 15 characters)", () => {
    const names = [
      ...workloads().flatMap((w) => w.template.spec!.containers.flatMap((c) => c.ports ?? [])),
      ...all<IService>("Service").flatMap((s) => s.spec!.ports ?? []),
    ].map((p) => p.name ?? "");
    for (const name of names) expect(name).toMatch(/^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it("only resolve $(VARIABLE) references in args to variables the container defines", () => {
    for (const w of workloads()) {
      for (const c of w.template.spec!.containers) {
        const defined = new Set((c.env ?? []).map((e) => e.name));
        const used = [...(c.command ?? []), ...(c.args ?? [])].flatMap((a) =>
          [...a.matchAll(/\$\((\w+)\)/g)].map((r) => r[1]!),
        );
        for (const name of used) expect(defined.has(name), `${w.kind}/${w.name} $(${name})`).toBe(true);
      }
    }
  });

  it("take every secretKeyRef and secret volume from a Secret that has the key", () => {
    // The Secrets in the manifests, and those the kustomization's secretGenerator makes.
    const secrets = new Map<string, Set<string>>([
      ...all<ISecret>("Secret").map(
        (s) =>
          [
            s.metadata!.name!,
            new Set([...Object.keys(s.stringData ?? {}), ...Object.keys(s.data ?? {})]),
          ] as const,
      ),
      ...generatedSecrets().map((g) => [g.name, new Set(Object.keys(g.files))] as const),
    ]);
    const keysOf = (name: string) => secrets.get(name) ?? new Set<string>();
    for (const w of workloads()) {
      for (const volume of w.template.spec!.volumes ?? []) {
        if (!volume.secret) continue;
        expect(secrets.has(volume.secret.secretName!), `volume ${volume.name}`).toBe(true);
        for (const item of volume.secret.items ?? [])
          expect(keysOf(volume.secret.secretName!)).toContain(item.key);
      }
      for (const c of w.template.spec!.containers) {
        for (const variable of c.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref) expect(keysOf(ref.name!), `${w.name} env ${variable.name}`).toContain(ref.key);
        }
      }
    }
  });
});
