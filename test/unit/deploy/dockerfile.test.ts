import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envName } from "../../../src/config/flag-spec.js";
import { loadFlags } from "../../../src/config/load-flags.js";
import { SERVE_FLAGS } from "../../../src/config/serve-flags.js";
import { argsOf, execForm, readDockerfile, sentToBuilder } from "./dockerfile.js";
import { gateway, REPO_ROOT } from "./manifest-set.js";

const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  bin: Record<string, string>;
};

/** Every PROFGATE_ variable the command line reads: serve's flags, and those iam and spool read. */
function knownVariables(): Set<string> {
  const names = new Set(Object.values(SERVE_FLAGS).map((f) => envName(f.name)));
  const cliDir = join(REPO_ROOT, "src", "cli");
  for (const file of readdirSync(cliDir, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts")) continue;
    const source = readFileSync(join(cliDir, file), "utf8");
    for (const match of source.matchAll(/process\.env(?:\["|\.)(PROFGATE_\w+)/g)) names.add(match[1]!);
  }
  return names;
}

/** `COPY [--chown=..] src... dest` from the build context (not `--from`): the sources. */
function contextSources(args: string): string[] {
  const words = args.split(/\s+/);
  if (words.some((w) => w.startsWith("--from="))) return [];
  return words.filter((w) => !w.startsWith("--")).slice(0, -1);
}

describe("the Dockerfile", () => {
  it("runs `profgate serve` from the compiled CLI, the package's bin", () => {
    const { runtime } = readDockerfile();
    const entrypoint = execForm(argsOf(runtime, "ENTRYPOINT").at(-1) ?? "");
    expect(entrypoint).toEqual(["node", "/app/dist/cli/profgate.js", "serve"]);
    expect(argsOf(runtime, "WORKDIR").at(-1)).toBe("/app");
    expect(`/app/${packageJson.bin["profgate"]}`).toBe(entrypoint[1]);
    expect(existsSync(join(REPO_ROOT, "src", "cli", "profgate.ts"))).toBe(true);
    expect(argsOf(runtime, "CMD")).toEqual([]);
  });

  it("builds on Node 22 images, a maintained line, in every stage", () => {
    for (const stage of readDockerfile().stages) expect(stage.from).toMatch(/^node:22[.-]/);
  });

  it("installs from the lockfile, and ships production dependencies, dist/ and package.json only", () => {
    const { stages, runtime } = readDockerfile();
    const builders = stages.slice(0, -1);
    const install = (stage: (typeof stages)[number]) => argsOf(stage, "RUN").join(" && ");
    expect(builders.some((s) => /npm ci\b/.test(install(s)) && /npm run build/.test(install(s)))).toBe(true);
    const copies = argsOf(runtime, "COPY");
    const fromStage = (target: string) =>
      copies.find((c) => c.includes("--from=") && c.trim().endsWith(target))?.match(/--from=(\S+)/)?.[1];
    const modulesFrom = stages.find((s) => s.name === fromStage("./node_modules"));
    expect(modulesFrom, "node_modules copied from a build stage").toBeDefined();
    expect(install(modulesFrom!)).toMatch(/npm ci [^&]*--omit=dev|npm prune [^&]*--omit=dev/);
    expect(stages.find((s) => s.name === fromStage("./dist"))).toBeDefined();
    const fromContext = copies.flatMap(contextSources);
    expect(fromContext).toEqual(["package.json"]);
  });

  it("sends the builder what it copies, and never data/, node_modules/, dist/ or .git/", () => {
    const { stages } = readDockerfile();
    const sources = stages.flatMap((s) => argsOf(s, "COPY").flatMap(contextSources));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(sentToBuilder(source), source).toBe(true);
    }
    expect(sentToBuilder("src/cli/profgate.ts")).toBe(true);
    for (const path of ["data/owner.token", "node_modules/yaml", "dist/main.js", ".git/config", "test"]) {
      expect(sentToBuilder(path), path).toBe(false);
    }
  });

  it("configures the gateway through variables profgate reads, with the data dir as the volume", () => {
    const { runtime, runtimeEnv } = readDockerfile();
    const known = knownVariables();
    for (const name of Object.keys(runtimeEnv)) {
      if (name.startsWith("PROFGATE_")) expect(known, name).toContain(name);
    }
    const config = loadFlags(SERVE_FLAGS, [], runtimeEnv);
    expect(execForm(argsOf(runtime, "VOLUME").at(-1) ?? "")).toEqual([config.dataDir]);
    expect(runtimeEnv["PROFGATE_TOKEN_FILE"]).toBe(`${config.dataDir}/owner.token`);
    expect(config.grpcAddress.host).toBe("0.0.0.0");
    expect(config.httpAddress.host).toBe("0.0.0.0");
    expect(config.adminAddress.host).toBe("127.0.0.1");
    const exposed = argsOf(runtime, "EXPOSE").flatMap((a) =>
      a.split(/\s+/).map((p) => Number(p.split("/")[0])),
    );
    expect(config.otlpHttpAddress?.host).toBe("0.0.0.0");
    expect(exposed.sort()).toEqual(
      [config.grpcAddress.port, config.httpAddress.port, config.otlpHttpAddress?.port].sort(),
    );
  });

  it("runs as the non-root user the Kubernetes manifests run the gateway as", () => {
    const [uid, gid] = (argsOf(readDockerfile().runtime, "USER").at(-1) ?? "").split(":").map(Number);
    expect(uid).toBeGreaterThan(0);
    const pod = gateway().statefulSet.spec!.template.spec!;
    expect(pod.securityContext?.runAsUser).toBe(uid);
    if (gid !== undefined) expect(pod.securityContext?.runAsGroup).toBe(gid);
  });
});
