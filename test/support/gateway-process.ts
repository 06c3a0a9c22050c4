import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const CLI = resolve(import.meta.dirname, "../../dist/cli/profgate.js");

export interface BootstrapFiles {
  organizationId: string;
  projectId: string;
  ownerServiceAccountId: string;
  agentServiceAccountId: string;
  ownerToken: string;
  agentToken: string;
}

/** A `profgate serve` child process started from the built CLI. */
export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  target: string;
  /** The admin API listener. */
  adminTarget: string;
  /** The HTTP listener: `http://127.0.0.1:<port>`. */
  httpUrl: string;
  /** The IAM web console: `http://127.0.0.1:<port>`. */
  consoleUrl: string;
  /** The OTLP/HTTP listener: `http://127.0.0.1:<port>`. */
  otlpHttpUrl: string;
  /** Every line the process wrote to stdout and stderr so far. */
  lines: string[];
  /**
   * The log so far, once `until` holds for it (polled; the gateway writes its log in batches
   * at least every 250 ms). Without `until`: after one batch period, so that every line of
   * what happened before the call has been written.
   */
  log(until?: (log: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends a signal and resolves with the exit code (or the signal's name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Extra Node flags for every gateway a test starts, e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile one. */
const NODE_ARGS = (process.env["PROFGATE_TEST_GATEWAY_NODE_ARGS"] ?? "").split(" ").filter(Boolean);

/**
 * Starts `profgate serve` on free ports (`127.0.0.1:0`) with the given data dir and extra
 * flags, and resolves once it logged that it listens.
 */
export async function startGateway(dataDir: string, extraArgs: string[] = []): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      CLI,
      "serve",
      "--grpc-address",
      "127.0.0.1:0",
      "--admin-address",
      "127.0.0.1:0",
      "--http-address",
      "127.0.0.1:0",
      "--console-address",
      "127.0.0.1:0",
      "--otlp-http-address",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PROFGATE_LOG_LEVEL: "info" } },
  );
  const lines: string[] = [];
  const exited = new Promise<number | string>((done) =>
    child.once("exit", (code, signal) => done(code ?? signal ?? "unknown")),
  );
  let adminTarget = "";
  let httpUrl = "";
  let consoleUrl = "";
  let otlpHttpUrl = "";
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${lines.join("\n")}`)), 20_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        const match = /"grpcAddress":"[^"]*:(\d+)"/.exec(line);
        if (match && line.includes("profgate is listening")) {
          clearTimeout(timer);
          adminTarget = /"adminAddress":"([^"]*)"/.exec(line)?.[1] ?? "";
          httpUrl = `http://${/"httpAddress":"([^"]*)"/.exec(line)?.[1] ?? ""}`;
          consoleUrl = `http://${/"consoleAddress":"([^"]*)"/.exec(line)?.[1] ?? ""}`;
          otlpHttpUrl = `http://${/"otlpHttpAddress":"([^"]*)"/.exec(line)?.[1] ?? ""}`;
          resolvePort(Number(match[1]));
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening:\n${lines.join("\n")}`));
    });
  });
  return {
    child,
    port,
    target: `127.0.0.1:${port}`,
    adminTarget,
    httpUrl,
    consoleUrl,
    otlpHttpUrl,
    lines,
    async log(until, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      if (!until) await new Promise((r) => setTimeout(r, 600));
      for (;;) {
        const text = lines.join("\n");
        if (!until || until(text) || Date.now() > deadline) return text;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The ids and tokens the gateway's first start wrote to its data dir. */
export async function readBootstrap(dataDir: string): Promise<BootstrapFiles> {
  const info = JSON.parse(await readFile(join(dataDir, "bootstrap.json"), "utf8"));
  return {
    ...info,
    ownerToken: (await readFile(join(dataDir, "owner.token"), "utf8")).trim(),
    agentToken: (await readFile(join(dataDir, "agent.token"), "utf8")).trim(),
  };
}
