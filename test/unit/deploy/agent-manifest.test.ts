import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { posix } from "node:path";
import type { IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import type { IClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import {
  all,
  argValue,
  declaredPort,
  find,
  gateway,
  DEPLOY_DIR,
  gatewayConfig,
  generatedSecret,
  generatedSecrets,
  NAMESPACE,
  REPO_ROOT,
  selects,
} from "./manifest-set.js";

/** The first parca-agent release that sends --remote-store-grpc-headers (wire contract). */
const MIN_AGENT = [0, 44, 0];

function agent(): { daemonSet: IDaemonSet; container: IContainer } {
  const daemonSet = find<IDaemonSet>("DaemonSet", "parca-agent");
  const container = daemonSet.spec!.template.spec!.containers.find((c) => c.name === "parca-agent");
  if (!container) throw new Error("the parca-agent DaemonSet has no container named parca-agent");
  return { daemonSet, container };
}

describe("the parca-agent DaemonSet", () => {
  it("pushes to the gateway's Service, at the port that reaches its gRPC listener", () => {
    const address = argValue(agent().container.args, "remote-store-address");
    expect(address).toBeDefined();
    const [, host, port] = /^(.+):(\d+)$/.exec(address!) ?? [];
    const [serviceName, namespace = NAMESPACE] = host!.split(".");
    expect(namespace).toBe(NAMESPACE);
    const service = find<IService>("Service", serviceName!);
    const servicePort = service.spec!.ports!.find((p) => p.port === Number(port));
    expect(servicePort, `Service ${serviceName} has port ${port}`).toBeDefined();
    const { statefulSet, container } = gateway();
    expect(selects(service.spec!.selector, statefulSet.spec!.template.metadata?.labels)).toBe(true);
    const target = declaredPort(container, servicePort!.targetPort ?? servicePort!.port);
    expect(target).toBe(gatewayConfig().grpcAddress.port);
  });

  it("dials the address the gateway advertises in its push line and console set-up", () => {
    expect(gatewayConfig().advertiseAddress, "--advertise-address").toBe(
      argValue(agent().container.args, "remote-store-address"),
    );
  });

  it("speaks plaintext exactly when the gateway has no TLS", () => {
    const insecure = agent().container.args!.includes("--remote-store-insecure");
    expect(insecure).toBe(gatewayConfig().tlsCertFile === undefined);
  });

  it("reads its bearer token from a file that a mounted Secret provides", () => {
    const { daemonSet, container } = agent();
    const tokenFile = argValue(container.args, "remote-store-bearer-token-file");
    expect(tokenFile, "--remote-store-bearer-token-file").toBeDefined();
    expect(
      argValue(container.args, "remote-store-bearer-token"),
      "never the token itself in args",
    ).toBeUndefined();
    const mount = container.volumeMounts?.find((m) => m.mountPath === posix.dirname(tokenFile!));
    expect(mount, `a volume mounted at ${posix.dirname(tokenFile!)}`).toBeDefined();
    expect(mount!.subPath).toBeUndefined();
    const volume = daemonSet.spec!.template.spec!.volumes!.find((v) => v.name === mount!.name);
    expect(volume?.secret?.secretName, "the mounted volume is a Secret").toBeDefined();
    const secret = generatedSecret(volume!.secret!.secretName!);
    const fileName = posix.basename(tokenFile!);
    const items = volume!.secret!.items;
    const key = items ? items.find((i) => i.path === fileName)?.key : fileName;
    expect(Object.keys(secret.files)).toContain(key);
    const projectId = container.env?.find((e) => e.name === "PROJECT_ID")?.valueFrom?.secretKeyRef;
    expect(projectId).toEqual({ name: secret.name, key: "project-id" });
    expect(Object.keys(secret.files)).toContain("project-id");
  });

  it("names its project with --remote-store-grpc-headers=projectID=...", () => {
    const headers = argValue(agent().container.args, "remote-store-grpc-headers");
    expect(headers).toMatch(/^projectID=\S+$/);
  });

  it("makes its Secrets from the operator's files, which git never takes in", () => {
    const secrets = generatedSecrets();
    expect(secrets.map((g) => g.name).sort()).toEqual(["parca-agent-token", "profgate-owner-token"]);
    for (const secret of secrets) {
      expect(secret.namespace).toBe(NAMESPACE);
      for (const path of Object.values(secret.files)) {
        expect(path, `${secret.name}: ${path}`).toMatch(/^secrets\/[a-z-]+$/);
        const ignored = spawnSync("git", ["check-ignore", "-q", join(DEPLOY_DIR, path)], { cwd: REPO_ROOT });
        expect(ignored.status, `git ignores ${path}`).toBe(0);
      }
    }
  });

  it("labels profiles with its node name, from the downward API", () => {
    const { container } = agent();
    expect(argValue(container.args, "node")).toBe("$(NODE_NAME)");
    const nodeName = container.env?.find((e) => e.name === "NODE_NAME");
    expect(nodeName?.valueFrom?.fieldRef?.fieldPath).toBe("spec.nodeName");
  });

  it("runs a pinned agent release that can send the project header", () => {
    const image = agent().container.image!;
    const match = /^ghcr\.io\/parca-dev\/parca-agent:v(\d+)\.(\d+)\.(\d+)$/.exec(image);
    expect(match, `${image}: pin a release tag`).not.toBeNull();
    const version = match!.slice(1).map(Number);
    const compare = version.map((v, i) => v - MIN_AGENT[i]!).find((d) => d !== 0) ?? 0;
    expect(compare).toBeGreaterThanOrEqual(0);
  });

  it("profiles the host: host PID namespace, privileged", () => {
    const { daemonSet, container } = agent();
    expect(daemonSet.spec!.template.spec!.hostPID).toBe(true);
    expect(container.securityContext?.privileged).toBe(true);
  });

  it("runs as a service account bound to a cluster role", () => {
    const name = agent().daemonSet.spec!.template.spec!.serviceAccountName!;
    find("ServiceAccount", name);
    const bindings = all<IClusterRoleBinding>("ClusterRoleBinding").filter((b) =>
      (b.subjects ?? []).some(
        (s) => s.kind === "ServiceAccount" && s.name === name && s.namespace === NAMESPACE,
      ),
    );
    expect(bindings).toHaveLength(1);
    find("ClusterRole", bindings[0]!.roleRef.name);
  });
});
