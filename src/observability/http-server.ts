import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { HostPort } from "../config/flag-spec.js";

/** Whether the gateway should receive traffic, and what each dependency reports. */
export interface HealthState {
  ready: boolean;
  /** e.g. `{ store: "down", upstream: "ok", shuttingDown: false }`; served as is. */
  checks: Record<string, string | number | boolean>;
}

export interface HttpServerOptions {
  address: HostPort;
  registry: Registry;
  health: () => HealthState | Promise<HealthState>;
  log: Pick<Logger, "warn">;
  /** A readiness answer slower than this counts as not ready. Default 2000 ms. */
  readyTimeoutMs?: number;
}

/** A listening HTTP server. `address.port` is the real port when 0 was asked for. */
export interface HttpServer {
  address: HostPort;
  /** Stops listening and drops open connections, keep-alive ones included. Idempotent. */
  close(): Promise<void>;
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

function withTimeout<T>(value: T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    // A hung check must not keep a stopping process alive.
    timer.unref();
  });
  return Promise.race([Promise.resolve(value), timeout]).finally(() => clearTimeout(timer));
}

async function readiness(options: HttpServerOptions, res: ServerResponse): Promise<void> {
  let state: HealthState;
  try {
    state = await withTimeout(options.health(), options.readyTimeoutMs ?? 2000);
  } catch (error) {
    options.log.warn({ err: error }, "readiness check failed; answering not ready");
    state = { ready: false, checks: { health: "error" } };
  }
  send(res, state.ready ? 200 : 503, "application/json", JSON.stringify(state));
}

async function handle(options: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?", 1)[0];
  const known = path === "/metrics" || path === "/healthz" || path === "/readyz";
  if (!known) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
  }
  if (path === "/healthz") return send(res, 200, "text/plain; charset=utf-8", "ok\n");
  if (path === "/readyz") return readiness(options, res);
  try {
    const body = await options.registry.metrics();
    send(res, 200, options.registry.contentType, body);
  } catch (error) {
    options.log.warn({ err: error }, "could not collect metrics for a scrape");
    send(res, 500, "text/plain; charset=utf-8", "could not collect metrics\n");
  }
}

/**
 * The operator's HTTP listener: `GET /metrics` (the registry in Prometheus text format),
 * `GET /healthz` (200 while the process runs), `GET /readyz` (200 when `health()` says ready,
 * else 503; both with the state as JSON), 404 for anything else.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server = createServer((req, res) => void handle(options, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.address.port, options.address.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => options.log.warn({ err: error }, "HTTP listener error"));
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    address: { host: options.address.host, port },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
