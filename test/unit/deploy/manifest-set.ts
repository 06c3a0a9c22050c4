import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import { parse, parseAllDocuments } from "yaml";
import { loadFlags } from "../../../src/config/load-flags.js";
import { SERVE_FLAGS, type ServeConfig } from "../../../src/config/serve-flags.js";
import { readDockerfile } from "./dockerfile.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const DEPLOY_DIR = join(REPO_ROOT, "deploy", "kubernetes");
export const KUSTOMIZATION = "kustomization.yaml";
export const NAMESPACE = "profgate";

/** What every Kubernetes object has; the rest is checked by its schema. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** One YAML document of one file in deploy/kubernetes. */
export interface Manifest {
  file: string;
  index: number;
  /** The document as kubectl would read it (YAML 1.1, which is what sigs.k8s.io/yaml speaks). */
  object: KubeObject;
  /** The same document read as YAML 1.2, the `yaml` package's default. */
  asYaml12: unknown;
  /** Syntax errors and warnings, as `file: message`. */
  problems: string[];
}

export type Workload = IDeployment | IStatefulSet | IDaemonSet;

/** The manifest files of deploy/kubernetes, sorted, the kustomization excluded. */
export function manifestFiles(): string[] {
  return readdirSync(DEPLOY_DIR)
    .filter((f) => /\.ya?ml$/.test(f) && f !== KUSTOMIZATION)
    .sort();
}

/** Every non-empty document of `file`, read the way kubectl reads it and the way YAML 1.2 does. */
export function readManifestFile(file: string): Manifest[] {
  const text = readFileSync(join(DEPLOY_DIR, file), "utf8");
  const as11 = parseAllDocuments(text, { version: "1.1" });
  const as12 = parseAllDocuments(text, { version: "1.2" });
  if (!Array.isArray(as11) || !Array.isArray(as12)) return [];
  const manifests: Manifest[] = [];
  as11.forEach((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings].map((e) => `${file}: ${e.message}`);
    const object = doc.toJS() as KubeObject | null;
    if (object === null && problems.length === 0) return;
    manifests.push({
      file,
      index,
      object: object ?? ({} as KubeObject),
      asYaml12: as12[index]?.toJS(),
      problems,
    });
  });
  return manifests;
}

let cached: Manifest[] | undefined;

/** Every document of every manifest file. */
export function allManifests(): Manifest[] {
  cached ??= manifestFiles().flatMap(readManifestFile);
  return cached;
}

/** The one object of `kind` named `name`; throws if there is none or more than one. */
export function find<T = KubeObject>(kind: string, name: string): T {
  const found = allManifests().filter((m) => m.object.kind === kind && m.object.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} named ${name}, found ${found.length}`);
  return found[0]!.object as T;
}

/** Every object of `kind`. */
export function all<T = KubeObject>(kind: string): T[] {
  return allManifests()
    .filter((m) => m.object.kind === kind)
    .map((m) => m.object as T);
}

export function workloads(): Array<{ kind: string; name: string; template: IPodTemplateSpec }> {
  return allManifests()
    .filter((m) => ["Deployment", "StatefulSet", "DaemonSet"].includes(m.object.kind))
    .map((m) => ({
      kind: m.object.kind,
      name: m.object.metadata.name,
      template: (m.object as unknown as Workload).spec!.template,
    }));
}

/** Whether an equality selector selects pods with `labels` (an empty selector would select all). */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> = {}) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

export function gateway(): { statefulSet: IStatefulSet; container: IContainer } {
  const statefulSet = find<IStatefulSet>("StatefulSet", "profgate");
  const container = statefulSet.spec!.template.spec!.containers.find((c) => c.name === "profgate");
  if (!container) throw new Error("the profgate StatefulSet has no container named profgate");
  return { statefulSet, container };
}

/** A Secret the kustomization's secretGenerator makes: its name, and the file behind each key. */
export interface GeneratedSecret {
  name: string;
  namespace: string | undefined;
  files: Record<string, string>;
}

/** The kustomization's secretGenerator entries (`files: [key=path]`), paths relative to it. */
export function generatedSecrets(): GeneratedSecret[] {
  const kustomization = parse(readFileSync(join(DEPLOY_DIR, KUSTOMIZATION), "utf8")) as {
    secretGenerator?: Array<{ name: string; namespace?: string; files?: string[]; literals?: string[] }>;
  };
  return (kustomization.secretGenerator ?? []).map((g) => ({
    name: g.name,
    namespace: g.namespace,
    files: Object.fromEntries(
      (g.files ?? []).map((entry) => {
        const [key, path] = entry.includes("=") ? entry.split("=", 2) : [entry.split("/").pop()!, entry];
        return [key!, path!];
      }),
    ),
  }));
}

/** The generated Secret named `name`; throws if the kustomization makes none. */
export function generatedSecret(name: string): GeneratedSecret {
  const found = generatedSecrets().find((g) => g.name === name);
  if (!found) throw new Error(`the kustomization generates no Secret named ${name}`);
  return found;
}

/**
 * The settings the gateway container starts with, resolved as `profgate serve` resolves them:
 * its args, over its literal env values, over the image's ENV, over the defaults.
 */
export function gatewayConfig(): ServeConfig {
  const { container } = gateway();
  const env: Record<string, string> = { ...readDockerfile().runtimeEnv };
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  // Flags naming files that only exist in the pod (mounted Secrets) are read there: the parser
  // would read them now. gateway-manifest.test.ts checks what they point at.
  const args = (container.args ?? []).filter((arg) => !POD_FILE_FLAGS.some((f) => arg.startsWith(`--${f}=`)));
  return loadFlags(SERVE_FLAGS, args, env) as ServeConfig;
}

const POD_FILE_FLAGS = ["bootstrap-owner-token-file", "bootstrap-agent-token-file"];

/** The container ports of a container, by name and number. */
export function declaredPort(container: IContainer, port: string | number): number | undefined {
  const ports = container.ports ?? [];
  const found =
    typeof port === "number"
      ? ports.find((p) => p.containerPort === port)
      : ports.find((p) => p.name === port);
  return found?.containerPort;
}

/** `--flag=value` (or `--flag value`) from an argument list. */
export function argValue(args: readonly string[] | undefined, flag: string): string | undefined {
  const list = args ?? [];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i]!;
    if (arg.startsWith(`--${flag}=`)) return arg.slice(flag.length + 3);
    if (arg === `--${flag}`) return list[i + 1];
  }
  return undefined;
}
