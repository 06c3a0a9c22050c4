import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IProbe } from "kubernetes-models/v1/Probe";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { envName } from "../../../src/config/flag-spec.js";
import { SERVE_FLAGS } from "../../../src/config/serve-flags.js";
import {
  all,
  argValue,
  declaredPort,
  find,
  gateway,
  gatewayConfig,
  generatedSecret,
  selects,
  workloads,
} from "./manifest-set.js";

/** The paths the gateway's HTTP listener serves (src/observability/http-server.ts). */
const HTTP_PATHS = ["/healthz", "/readyz", "/metrics"];
const LOOPBACK = /^(127\.|localhost$|::1$)/;

const probes = (c: IContainer) =>
  Object.entries({ readiness: c.readinessProbe, liveness: c.livenessProbe, startup: c.startupProbe }).filter(
    (entry): entry is [string, IProbe] => entry[1] !== undefined,
  );

/** The seconds a preStop `sleep N` holds the container before SIGTERM; 0 without one. */
function preStopSeconds(c: IContainer): number {
  const command = c.lifecycle?.preStop?.exec?.command;
  if (!command) return 0;
  const sleep = command.findIndex((word) => word === "sleep" || word.endsWith("/sleep"));
  return sleep < 0 ? 0 : Number(command[sleep + 1]);
}

describe("the gateway's Kubernetes manifests", () => {
  it("start `profgate serve` with flags and variables it accepts", () => {
    const { container } = gateway();
    const known = new Set(Object.values(SERVE_FLAGS).map((f) => envName(f.name)));
    for (const variable of container.env ?? []) {
      if (variable.name.startsWith("PROFGATE_")) expect(known, variable.name).toContain(variable.name);
    }
    // Throws, naming the flag, on an unknown flag or an invalid value: the pod would crash-loop.
    const config = gatewayConfig();
    expect(
      config.redisUrl ?? config.redisClusterNodes,
      "replicas must share a Redis IAM store",
    ).toBeDefined();
  });

  it("run more than one replica, on the shared Redis store", () => {
    const { statefulSet } = gateway();
    expect(statefulSet.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(gatewayConfig().redisUrl).toBeDefined();
  });

  it("listen on every interface at the ports the container declares, and keep the admin API private", () => {
    const { container } = gateway();
    const config = gatewayConfig();
    expect(declaredPort(container, "grpc")).toBe(config.grpcAddress.port);
    expect(declaredPort(container, "http-metrics")).toBe(config.httpAddress.port);
    expect(config.grpcAddress.host).not.toMatch(LOOPBACK);
    expect(config.httpAddress.host).not.toMatch(LOOPBACK);
    expect(config.adminAddress.host).toMatch(LOOPBACK);
    expect(declaredPort(container, config.adminAddress.port)).toBeUndefined();
  });

  it("probe ports the container declares: gRPC health on the gRPC port, HTTP on the paths it serves", () => {
    const { container } = gateway();
    const config = gatewayConfig();
    expect(container.readinessProbe, "readinessProbe").toBeDefined();
    expect(container.livenessProbe, "livenessProbe").toBeDefined();
    for (const [kind, probe] of probes(container)) {
      if (probe.grpc) {
        expect(probe.grpc.port, kind).toBe(config.grpcAddress.port);
        expect(config.tlsCertFile, "Kubernetes' gRPC probe cannot speak TLS").toBeUndefined();
      } else if (probe.httpGet) {
        expect(declaredPort(container, probe.httpGet.port), kind).toBe(config.httpAddress.port);
        expect(HTTP_PATHS, kind).toContain(probe.httpGet.path);
      } else {
        throw new Error(`${kind} probe: expected grpc or httpGet`);
      }
    }
    expect(container.livenessProbe!.httpGet?.path, "liveness must not depend on Redis").toBe("/healthz");
  });

  it("every probe of every workload points at a port its container declares", () => {
    for (const w of workloads()) {
      for (const c of w.template.spec!.containers) {
        for (const [kind, probe] of probes(c)) {
          const port = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
          if (port === undefined) continue; // exec
          expect(declaredPort(c, port), `${w.kind}/${w.name} ${c.name} ${kind}`).toBeDefined();
        }
      }
    }
  });

  it("give the gateway longer to stop than preStop plus its --shutdown-grace", () => {
    const { statefulSet, container } = gateway();
    const graceMs = gatewayConfig().shutdownGrace;
    const terminationMs = (statefulSet.spec!.template.spec!.terminationGracePeriodSeconds ?? 30) * 1000;
    expect(terminationMs).toBeGreaterThan(preStopSeconds(container) * 1000 + graceMs);
  });

  it("run as non-root with a read-only root file system and a persistent volume at the data dir", () => {
    const { statefulSet, container } = gateway();
    const pod = statefulSet.spec!.template.spec!;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).not.toBe(0);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
    const mount = container.volumeMounts?.find((m) => m.mountPath === gatewayConfig().dataDir);
    expect(mount, "a volume at the data dir").toBeDefined();
    expect(mount!.readOnly).not.toBe(true);
    // The local sink and debuginfo must survive a pod's deletion: a claim per replica.
    expect(pod.volumes?.find((v) => v.name === mount!.name)).toBeUndefined();
    const claim = statefulSet.spec!.volumeClaimTemplates?.find((c) => c.metadata?.name === mount!.name);
    expect(claim, "a volumeClaimTemplate for the data dir").toBeDefined();
    expect(claim!.spec!.accessModes).toEqual(["ReadWriteOnce"]);
    expect(claim!.spec!.resources?.requests?.["storage"]).toBeDefined();
    expect(statefulSet.spec!.persistentVolumeClaimRetentionPolicy?.whenScaled).toBe("Retain");
  });

  it("bootstrap the store from the Secrets the agents use, with nothing to copy out of a pod", () => {
    const { statefulSet, container } = gateway();
    const pod = statefulSet.spec!.template.spec!;
    /** The generated Secret and key behind a file the container reads. */
    const secretKeyOf = (file: string) => {
      const mount = container.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`));
      expect(mount, `a volume mounted above ${file}`).toBeDefined();
      expect(mount!.readOnly).toBe(true);
      const volume = pod.volumes!.find((v) => v.name === mount!.name)!.secret!;
      const path = file.slice(mount!.mountPath.length + 1);
      const key = volume.items ? volume.items.find((i) => i.path === path)?.key : path;
      const secret = generatedSecret(volume.secretName!);
      expect(Object.keys(secret.files), `Secret ${secret.name}`).toContain(key);
      return { secret: secret.name, key };
    };
    expect(secretKeyOf(argValue(container.args, "bootstrap-owner-token-file")!)).toEqual({
      secret: "profgate-owner-token",
      key: "token",
    });
    expect(secretKeyOf(argValue(container.args, "bootstrap-agent-token-file")!)).toEqual({
      secret: "parca-agent-token",
      key: "token",
    });
    const projectId = container.env?.find((e) => e.name === "PROFGATE_BOOTSTRAP_PROJECT_ID");
    expect(projectId?.valueFrom?.secretKeyRef).toEqual({ name: "parca-agent-token", key: "project-id" });
  });

  it("keep a replica through voluntary disruptions and rolling updates", () => {
    const { statefulSet } = gateway();
    const budget = find<IPodDisruptionBudget>("PodDisruptionBudget", "profgate");
    expect(selects(budget.spec!.selector!.matchLabels, statefulSet.spec!.template.metadata?.labels)).toBe(
      true,
    );
    expect(budget.spec!.minAvailable).toBeGreaterThanOrEqual(1);
    // A budget that allows no eviction would block every node drain.
    expect(Number(budget.spec!.minAvailable)).toBeLessThan(statefulSet.spec!.replicas!);
    expect(statefulSet.spec!.updateStrategy?.type).toBe("RollingUpdate");
    expect(statefulSet.spec!.updateStrategy?.rollingUpdate?.partition ?? 0).toBe(0);
  });

  it("reach Redis through the Service that --redis-url names", () => {
    const url = new URL(gatewayConfig().redisUrl!);
    const service = find<IService>("Service", url.hostname);
    expect(service.spec!.ports!.map((p) => p.port)).toContain(Number(url.port || 6379));
    const redis = all<IStatefulSet>("StatefulSet").find((s) =>
      selects(service.spec!.selector, s.spec!.template.metadata?.labels),
    );
    expect(redis, "a StatefulSet behind the Redis Service").toBeDefined();
    const args = redis!.spec!.template.spec!.containers[0]!.args ?? [];
    expect(args.join(" ")).toContain("--appendonly yes");
    expect(redis!.spec!.volumeClaimTemplates?.length).toBe(1);
  });

  it("let the gateway's pods, and only them, connect to Redis", () => {
    const { statefulSet } = gateway();
    const service = find<IService>("Service", new URL(gatewayConfig().redisUrl!).hostname);
    const redis = all<IStatefulSet>("StatefulSet").find((s) =>
      selects(service.spec!.selector, s.spec!.template.metadata?.labels),
    )!;
    const policy = all<INetworkPolicy>("NetworkPolicy").find((p) =>
      selects(p.spec!.podSelector.matchLabels, redis.spec!.template.metadata?.labels),
    );
    expect(policy, "a NetworkPolicy on the Redis pods").toBeDefined();
    const rules = policy!.spec!.ingress ?? [];
    expect(rules).toHaveLength(1);
    const from = rules[0]!.from ?? [];
    expect(from).toHaveLength(1);
    expect(selects(from[0]!.podSelector?.matchLabels, statefulSet.spec!.template.metadata?.labels)).toBe(
      true,
    );
    const redisPort = declaredPort(redis.spec!.template.spec!.containers[0]!, "redis");
    expect(rules[0]!.ports?.map((p) => p.port)).toContain(redisPort);
  });
});
