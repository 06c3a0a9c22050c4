import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { tempDir } from "./temp-dir.js";

/** One series of an instant query's answer. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** What `/api/v1/query` answered: the series, or Prometheus's error (a parse error, ...). */
export type PromAnswer = { ok: true; series: PromSample[] } | { ok: false; error: string };

/** A Debian `prometheus` process of the tests, on 127.0.0.1. */
export interface PrometheusServer {
  url: string;
  /** An instant query through the HTTP API. */
  query(expr: string): Promise<PromAnswer>;
  /** GET on an API path (`/api/v1/...`), its `data`. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/**
 * Starts `prometheus` with its storage in a temporary directory, scraping `targets`
 * (`host:port` of /metrics) as job `job` every second and loading `ruleFiles`, and resolves
 * once it answers `/-/ready`.
 */
export async function startPrometheus(options: {
  job: string;
  targets: string[];
  ruleFiles: string[];
}): Promise<PrometheusServer> {
  const dir = await tempDir("profgate-prometheus-");
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: options.ruleFiles,
    scrape_configs: [{ job_name: options.job, static_configs: [{ targets: options.targets }] }],
  };
  // JSON is YAML: no quoting to get wrong.
  await writeFile(join(dir.path, "prometheus.yml"), JSON.stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${join(dir.path, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir.path, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await dir.remove();
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await dir.remove();
      throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        data?: { result: PromSample[] };
        error?: string;
      };
      return body.status === "success"
        ? { ok: true, series: body.data?.result ?? [] }
        : { ok: false, error: body.error ?? `HTTP ${response.status}` };
    },
    async api<T>(path: string) {
      const body = (await (await fetch(`${url}${path}`)).json()) as {
        status: string;
        data: T;
        error?: string;
      };
      if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
      return body.data;
    },
    stop,
  };
}
