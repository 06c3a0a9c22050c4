import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FlagSpec } from "../../config/flag-spec.js";
import { SERVE_FLAGS } from "../../config/serve-flags.js";
import type { BenchContext } from "./context.js";
import { type Child, CLI, spawnNode, waitForLine } from "./processes.js";

/** A server process of the bench, listening. */
export interface ServerProcess extends Child {
  /** `127.0.0.1:<port>` of its gRPC listener. */
  target: string;
  adminTarget: string;
  httpUrl: string;
  dataDir: string;
}

/** A `profgate serve` process with what an agent needs to push to it. */
export interface GatewayProcess extends ServerProcess {
  projectId: string;
  agentTokenFile: string;
  ownerTokenFile: string;
}

let started = 0;

/**
 * Every listener of `profgate serve` on a free loopback port, so that several gateways run side
 * by side; read from the flag table so that listeners added later are covered too.
 */
const LOOPBACK_LISTENERS = Object.values(SERVE_FLAGS as Record<string, FlagSpec>)
  .map((flag) => flag.name)
  .filter((name) => name.endsWith("-address") && !["upstream-address", "advertise-address"].includes(name))
  .flatMap((name) => [`--${name}`, "127.0.0.1:0"]);

async function listening(child: Child, dataDir: string): Promise<ServerProcess> {
  const line = await waitForLine(child, "profgate is listening").catch(async (error: unknown) => {
    await child.stop();
    throw error;
  });
  return {
    ...child,
    target: String(line["grpcAddress"]),
    adminTarget: String(line["adminAddress"] ?? ""),
    httpUrl: line["httpAddress"] ? `http://${String(line["httpAddress"])}` : "",
    dataDir,
  };
}

/** Starts `node dist/bench/<script>` (a bench-only server) and waits until it listens. */
export async function startBenchServer(
  ctx: BenchContext,
  name: string,
  script: string,
  args: string[],
  options: { profile?: boolean } = {},
): Promise<ServerProcess> {
  const dataDir = join(ctx.workDir, `${name}-${++started}`);
  await mkdir(dataDir, { recursive: true });
  const child = spawnNode({
    name,
    script,
    args: [...args, "--data-dir", dataDir],
    logFile: join(ctx.workDir, `${name}-${started}.log`),
    cpuProfileDir: options.profile ? ctx.profileDir : undefined,
  });
  ctx.log(`started ${name} (pid ${child.pid})`);
  return listening(child, dataDir);
}

/**
 * Starts `profgate serve` from the built CLI on free loopback ports with a fresh data dir,
 * logging (info, one line per call) to a file, and waits until it listens. `bootstrapFrom`: the
 * data dir whose bootstrap files to use (a second replica of a shared Redis store).
 */
export async function startProfgate(
  ctx: BenchContext,
  name: string,
  extraArgs: string[] = [],
  options: { profile?: boolean; bootstrapFrom?: string } = {},
): Promise<GatewayProcess> {
  const dataDir = join(ctx.workDir, `${name}-${++started}`);
  await mkdir(dataDir, { recursive: true });
  const child = spawnNode({
    name,
    script: CLI,
    args: ["serve", ...LOOPBACK_LISTENERS, "--data-dir", dataDir, ...extraArgs],
    logFile: join(ctx.workDir, `${name}-${started}.log`),
    cpuProfileDir: options.profile ? ctx.profileDir : undefined,
    env: { PROFGATE_LOG_LEVEL: "info" },
  });
  ctx.log(`started ${name} (pid ${child.pid})`);
  const server = await listening(child, dataDir);
  const bootDir = options.bootstrapFrom ?? dataDir;
  const boot = JSON.parse(await readFile(join(bootDir, "bootstrap.json"), "utf8")) as { projectId: string };
  return {
    ...server,
    projectId: boot.projectId,
    agentTokenFile: join(bootDir, "agent.token"),
    ownerTokenFile: join(bootDir, "owner.token"),
  };
}

/** Whether `profgate serve --help` lists `flag`. */
export async function serveHasFlag(flag: string): Promise<boolean> {
  const { execFile } = await import("node:child_process");
  return new Promise((done) =>
    execFile(process.execPath, [CLI, "serve", "--help"], (_error, stdout) =>
      done(stdout.includes(`--${flag}`)),
    ),
  );
}
