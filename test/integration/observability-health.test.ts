import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Wire,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { policyTable } from "../../src/auth/method-policies.js";
import { createEdge } from "../../src/edge/create-edge.js";
import { grpcServerMetrics } from "../../src/observability/grpc-server-metrics.js";
import { healthService } from "../../src/observability/health-service.js";
import { HealthStatus } from "../../src/observability/health-status.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { serviceDefinition } from "../../src/rpc/service-definition.js";

const INGEST = "parca.profilestore.v1alpha1.ProfileStoreService";

type Watch = NodeJS.ReadableStream & { cancel(): void };
type HealthClient = Client & {
  check(
    request: { service: string },
    callback: (e: ServiceError | null, r?: HealthCheckResponse) => void,
  ): void;
  watch(request: { service: string }): Watch;
};

/** Collects a Watch stream's statuses; `next(n)` resolves once `n` have arrived. */
function watchStatuses(client: HealthClient, service: string) {
  const call = client.watch({ service });
  const seen: Wire[] = [];
  const waiters: Array<() => void> = [];
  const ended = new Promise<number>((resolve) => {
    call.on("status", (s: { code: number }) => resolve(s.code));
    call.on("error", (e: ServiceError) => resolve(e.code));
  });
  call.on("data", (r: HealthCheckResponse) => {
    seen.push(r.status);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (n: number) => {
    while (seen.length < n) await new Promise<void>((r) => waiters.push(r));
    return seen.slice();
  };
  return { call, seen, next, ended };
}

describe("grpc.health.v1.Health", () => {
  const health = new HealthStatus({ "": "SERVING", [INGEST]: "SERVING" });
  const registry = new Registry();
  // Health checks are public: the edge never asks for a decision.
  const edge = createEdge({
    policyFor: policyTable(new Map()),
    decide: () => {
      throw new Error("health checks need no auth decision");
    },
    observers: [grpcServerMetrics(createMetrics(registry, { perProject: false }).grpc)],
  });
  let client: HealthClient;

  beforeAll(async () => {
    edge.addService(healthService(health));
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    const Ctor = makeGenericClientConstructor(serviceDefinition(Health), "Health");
    client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as HealthClient;
  });
  afterAll(async () => {
    client?.close();
    await edge.close(1000);
  });

  const check = (service: string) =>
    new Promise<{ code: number; status?: Wire }>((resolve) =>
      client.check({ service }, (e, r) =>
        resolve(e ? { code: e.code } : { code: status.OK, status: r!.status }),
      ),
    );

  it("answers Check with the serving status, NOT_SERVING once set, and NOT_FOUND for an unknown service", async () => {
    expect(await check("")).toEqual({ code: status.OK, status: Wire.SERVING });
    expect(await check(INGEST)).toEqual({ code: status.OK, status: Wire.SERVING });
    health.set(INGEST, "NOT_SERVING");
    expect(await check(INGEST)).toEqual({ code: status.OK, status: Wire.NOT_SERVING });
    health.set(INGEST, "SERVING");
    expect(await check("no.such.Service")).toEqual({ code: status.NOT_FOUND });
  });

  it("refuses a Check message over 4 KiB with INVALID_ARGUMENT naming the limit: no token is needed to send one", async () => {
    const refused = await new Promise<{ code: number; details: string }>((resolve) =>
      client.check({ service: "s".repeat(5 * 1024) }, (e) =>
        resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: "" }),
      ),
    );
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toMatch(/larger than the gateway's limit of 4096 bytes/);
    expect((await check("")).code).toBe(status.OK);
  });

  it("streams the current status on Watch, then each change, until cancelled", async () => {
    const watch = watchStatuses(client, INGEST);
    expect(await watch.next(1)).toEqual([Wire.SERVING]);
    health.set(INGEST, "NOT_SERVING");
    health.set(INGEST, "SERVING");
    expect(await watch.next(3)).toEqual([Wire.SERVING, Wire.NOT_SERVING, Wire.SERVING]);
    watch.call.cancel();
    expect(await watch.ended).toBe(status.CANCELLED);
  });

  it("watches an unknown service as SERVICE_UNKNOWN until it becomes known", async () => {
    const watch = watchStatuses(client, "later.Service");
    expect(await watch.next(1)).toEqual([Wire.SERVICE_UNKNOWN]);
    health.set("later.Service", "SERVING");
    expect(await watch.next(2)).toEqual([Wire.SERVICE_UNKNOWN, Wire.SERVING]);
    watch.call.cancel();
    await watch.ended;
  });

  it("ends open watches with NOT_SERVING on shutdown, so the server can drain", async () => {
    const watch = watchStatuses(client, "");
    expect(await watch.next(1)).toEqual([Wire.SERVING]);
    health.shutdown();
    expect(await watch.ended).toBe(status.OK);
    expect(watch.seen).toEqual([Wire.SERVING, Wire.NOT_SERVING]);
    expect(await check("")).toEqual({ code: status.OK, status: Wire.NOT_SERVING });
  });

  it("is counted by the gRPC metrics like any other service", async () => {
    const text = await registry.metrics();
    expect(text).toContain(
      'grpc_server_handled_total{grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_code="NOT_FOUND"} 1',
    );
    expect(text).toContain(
      'grpc_server_handled_total{grpc_type="server_stream",grpc_service="grpc.health.v1.Health",grpc_method="Watch",grpc_code="CANCELLED"} 2',
    );
  });
});
