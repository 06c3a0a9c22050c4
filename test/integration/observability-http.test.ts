import { request } from "node:http";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HealthState, type HttpServer, startHttpServer } from "../../src/observability/http-server.js";
import { createMetrics } from "../../src/observability/metrics.js";

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function get(
  server: HttpServer,
  path: string,
  method = "GET",
  agent?: import("node:http").Agent,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.address.port, path, method, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the HTTP listener", () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { perProject: false });
  let state: HealthState | Error = {
    ready: true,
    checks: { store: "ok", upstream: "ok", shuttingDown: false },
  };
  const warnings: string[] = [];
  let server: HttpServer;

  beforeAll(async () => {
    server = await startHttpServer({
      address: { host: "127.0.0.1", port: 0 },
      registry,
      health: async () => {
        if (state instanceof Error) throw state;
        return state;
      },
      log: { warn: (_obj: unknown, message?: string) => warnings.push(message ?? "") } as never,
      readyTimeoutMs: 200,
    });
  });
  afterAll(async () => server?.close());

  it("listens on the port the system chose", () => {
    expect(server.address).toEqual({ host: "127.0.0.1", port: expect.any(Number) });
    expect(server.address.port).toBeGreaterThan(0);
  });

  it("serves the registry's metrics in Prometheus text format", async () => {
    metrics.store.up.set(1);
    const reply = await get(server, "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.type).toBe(registry.contentType);
    expect(reply.body).toContain("# HELP grpc_server_handled_total");
    expect(reply.body).toContain("profgate_store_up 1");
    expect(reply.body).toContain("process_cpu_user_seconds_total");
  });

  it("answers liveness while the process runs", async () => {
    expect(await get(server, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
  });

  it("answers readiness with the checks, 200 when ready and 503 naming what is not", async () => {
    const ready = await get(server, "/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual(state);

    state = { ready: false, checks: { store: "down", upstream: "ok", shuttingDown: false } };
    const notReady = await get(server, "/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.type).toBe("application/json");
    expect(JSON.parse(notReady.body)).toEqual({
      ready: false,
      checks: { store: "down", upstream: "ok", shuttingDown: false },
    });
  });

  it("answers not ready when the health function fails or hangs", async () => {
    state = new Error("boom");
    expect((await get(server, "/readyz")).status).toBe(503);
    const hanging = await startHttpServer({
      address: { host: "127.0.0.1", port: 0 },
      registry,
      health: () => new Promise<HealthState>(() => {}),
      log: { warn: () => {} } as never,
      readyTimeoutMs: 50,
    });
    expect((await get(hanging, "/readyz")).status).toBe(503);
    await hanging.close();
    expect(warnings).toContain("readiness check failed; answering not ready");
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    expect((await get(server, "/")).status).toBe(404);
    expect((await get(server, "/metrics/extra")).status).toBe(404);
    expect((await get(server, "/metrics", "POST")).status).toBe(405);
  });

  it("closes promptly although a scraper keeps its connection alive and a request is in flight", async () => {
    const { Agent } = await import("node:http");
    const other = await startHttpServer({
      address: { host: "127.0.0.1", port: 0 },
      registry,
      health: () => new Promise<HealthState>(() => {}),
      log: { warn: () => {} } as never,
      readyTimeoutMs: 30_000,
    });
    const agent = new Agent({ keepAlive: true });
    expect((await get(other, "/healthz", "GET", agent)).status).toBe(200);
    const inFlight = get(other, "/readyz");
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(inFlight).rejects.toThrow(/socket hang up|ECONNRESET/);
    await expect(get(other, "/healthz")).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });
});
