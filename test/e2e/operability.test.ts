import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { credentials, makeGenericClientConstructor, Metadata, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../../src/agent-sim/index.js";
import { Health, type HealthCheckResponse } from "../../src/gen/grpc/health/v1/health_pb.js";
import { ProfileStoreService } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { serviceDefinition } from "../../src/rpc/service-definition.js";
import { createCa, issue } from "../support/certificates.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { tempDir } from "../support/temp-dir.js";

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => status.OK,
    (e: { code: number }) => e.code,
  );
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function healthClient(target: string) {
  const Client = makeGenericClientConstructor(serviceDefinition(Health), "Health");
  return new Client(target, credentials.createInsecure()) as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  > & {
    close(): void;
  };
}

describe("operability", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const fresh = async (args: string[] = []) => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const gateway = await startGateway(join(dir.path, "data"), args);
    cleanups.push(() => gateway.stop("SIGKILL"));
    return { gateway, dir: dir.path, boot: await readBootstrap(join(dir.path, "data")) };
  };

  it("counts exactly the calls made in /metrics, with codes and reasons, and never a token", async () => {
    const { gateway, boot } = await fresh();
    const ok = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    const payloads = [encodeArrowV2(), encodeArrowV2({ payloadBytes: 4096 }), encodeArrowV2()];
    for (const p of payloads) expect(await codeOf(ok.writeArrow(p))).toBe(status.OK);
    expect(await codeOf(ok.writeArrow(Buffer.from("not arrow")))).toBe(status.INVALID_ARGUMENT);
    const unknownToken = `psc_v1_${randomBytes(32).toString("hex")}`;
    const unknown = new AgentClient(gateway.target, { token: unknownToken, projectId: boot.projectId });
    expect(await codeOf(unknown.writeArrow(encodeArrowV2()))).toBe(status.UNAUTHENTICATED);
    expect(await codeOf(unknown.writeArrow(encodeArrowV2()))).toBe(status.UNAUTHENTICATED);
    const malformed = new AgentClient(gateway.target, {
      token: "psc_v1_SECRETISH",
      projectId: boot.projectId,
    });
    expect(await codeOf(malformed.writeArrow(encodeArrowV2()))).toBe(status.UNAUTHENTICATED);
    const noProject = new AgentClient(gateway.target, { token: boot.agentToken });
    expect(await codeOf(noProject.writeArrow(encodeArrowV2()))).toBe(status.INVALID_ARGUMENT);
    for (const c of [ok, unknown, malformed, noProject]) c.close();

    const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    const samples = parseMetrics(text);
    const handled = (code: string) =>
      metricValue(samples, "grpc_server_handled_total", { grpc_method: "WriteArrow", grpc_code: code });
    expect(handled("OK")).toBe(3);
    expect(handled("UNAUTHENTICATED")).toBe(3);
    expect(handled("INVALID_ARGUMENT")).toBe(2);
    expect(
      metricValue(samples, "grpc_server_started_total", { grpc_method: "WriteArrow", grpc_type: "unary" }),
    ).toBe(8);
    const denied = (reason: string) =>
      metricValue(samples, "profgate_auth_decisions_total", { result: "denied", reason });
    expect(denied("unknown_token")).toBe(2);
    expect(denied("malformed_token")).toBe(1);
    expect(denied("missing_project")).toBe(1);
    expect(metricValue(samples, "profgate_auth_decisions_total", { result: "allowed" })).toBe(4);
    expect(metricValue(samples, "profgate_auth_cache_events_total", { event: "negative_hit" })).toBe(1);
    expect(metricValue(samples, "profgate_ingest_requests_total", { method: "WriteArrow" })).toBe(3);
    expect(metricValue(samples, "profgate_ingest_bytes_total", { method: "WriteArrow" })).toBe(
      payloads.reduce((n, p) => n + p.byteLength, 0),
    );
    expect(
      metricValue(samples, "profgate_ingest_rejections_total", {
        method: "WriteArrow",
        reason: "malformed_arrow",
      }),
    ).toBe(1);
    expect(metricValue(samples, "profgate_store_up")).toBe(1);
    expect(metricValue(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(text).not.toContain("profgate_project_ingest_bytes_total");
    for (const secret of [boot.agentToken, boot.ownerToken, unknownToken]) {
      expect(text).not.toContain(secret.slice(7, 30));
      expect(text).not.toContain(sha256(secret).slice(0, 24));
    }
    expect(text).not.toContain("SECRETISH");
    expect(text).not.toContain("127.0.0.1");

    // The default access log: a line for every call that did not succeed, none for the others.
    const log = await gateway.log(
      (text) => text.split("\n").filter((l) => l.includes("/WriteArrow")).length >= 5,
    );
    for (const secret of [boot.agentToken, boot.ownerToken, unknownToken]) {
      expect(log).not.toContain(secret.slice(7, 30));
      expect(log).not.toContain(sha256(secret).slice(0, 24));
    }
    expect(log).not.toContain("SECRETISH");
    const calls = gateway.lines.map((l) => JSON.parse(l)).filter((l) => l.method?.endsWith("/WriteArrow"));
    expect(calls.map((l) => l.code).sort()).toEqual([
      "INVALID_ARGUMENT",
      "INVALID_ARGUMENT",
      "UNAUTHENTICATED",
      "UNAUTHENTICATED",
      "UNAUTHENTICATED",
    ]);
    expect(calls.find((l) => l.code === "INVALID_ARGUMENT" && l.serviceAccountId)).toMatchObject({
      organizationId: boot.organizationId,
      projectId: boot.projectId,
      serviceAccountId: boot.agentServiceAccountId,
      details: expect.stringMatching(/\S/),
      peer: expect.any(String),
    });
  });

  it("logs every call with --access-log all, and a share of the successful ones with a fraction", async () => {
    for (const [flag, okLines] of [
      ["all", 20],
      ["0", 0],
    ] as const) {
      const { gateway, boot } = await fresh(["--access-log", flag]);
      const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
      for (let i = 0; i < 20; i++) expect(await codeOf(agent.writeArrow(encodeArrowV2()))).toBe(status.OK);
      expect(await codeOf(agent.writeArrow(Buffer.from("junk")))).toBe(status.INVALID_ARGUMENT);
      agent.close();
      await gateway.log((text) => text.includes('"code":"INVALID_ARGUMENT"'));
      const calls = gateway.lines.map((l) => JSON.parse(l)).filter((l) => l.method?.endsWith("/WriteArrow"));
      expect(
        calls.filter((l) => l.code === "OK"),
        flag,
      ).toHaveLength(okLines);
      expect(
        calls.filter((l) => l.code === "INVALID_ARGUMENT"),
        flag,
      ).toHaveLength(1);
      if (okLines > 0)
        expect(calls.find((l) => l.code === "OK")).toMatchObject({
          organizationId: boot.organizationId,
          projectId: boot.projectId,
          serviceAccountId: boot.agentServiceAccountId,
          tokenId: expect.any(String),
          durationMs: expect.any(Number),
          bytes: expect.any(Number),
          peer: expect.any(String),
        });
    }
  });

  it("counts the sink's fsyncs: concurrent writes share them", async () => {
    const { gateway, boot } = await fresh();
    const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    const codes = await Promise.all(
      Array.from({ length: 40 }, () => codeOf(agent.writeArrow(encodeArrowV2()))),
    );
    agent.close();
    expect(codes.every((c) => c === status.OK)).toBe(true);
    let fsyncs = 0;
    for (let i = 0; i < 40 && fsyncs === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      fsyncs = metricValue(
        parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text()),
        "profgate_sink_fsyncs_total",
      );
    }
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan(40);
  });

  it("exports per-project series only behind --metrics-per-project", async () => {
    const { gateway, boot } = await fresh(["--metrics-per-project"]);
    const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    const payload = encodeArrowV2();
    await agent.writeArrow(payload);
    agent.close();
    const samples = parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
    expect(metricValue(samples, "profgate_project_ingest_bytes_total", { project_id: boot.projectId })).toBe(
      payload.byteLength,
    );
  });

  /**
   * A Write exchange as the agent starts it: the sample record sent, the gateway's answer (which
   * asks for the locations) received; `ended` resolves with the call's final code.
   */
  async function writeExchangeInFlight(
    gateway: GatewayProcess,
    boot: { agentToken: string; projectId: string },
  ) {
    const Client = makeGenericClientConstructor(serviceDefinition(ProfileStoreService), "ProfileStore");
    const client = new Client(gateway.target, credentials.createInsecure()) as unknown as Record<
      string,
      (m: Metadata) => NodeJS.ReadWriteStream & { write(m: unknown): boolean }
    > & { close(): void };
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${boot.agentToken}`);
    metadata.set("projectid", boot.projectId);
    const call = client["write"]!(metadata);
    const ended = new Promise<number>((resolve) => {
      call.on("error", (e: { code: number }) => resolve(e.code));
      call.on("status", (s: { code: number }) => s.code === 0 && resolve(0));
    });
    const ids = [randomStacktraceId()];
    call.write({ record: encodeSampleRecord({ labels: {}, stacktraceIds: ids }) });
    await new Promise((r) => call.once("data", r));
    return { client, call, ended, ids };
  }

  it("answers /healthz, /readyz and gRPC health; on SIGTERM reports NOT_SERVING, finishes a Write exchange in flight, exits 0", async () => {
    const { gateway, boot } = await fresh(["--shutdown-grace", "10s"]);
    expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway.httpUrl}/readyz`)).status).toBe(200);
    const health = healthClient(gateway.target);
    const check = await new Promise<HealthCheckResponse>((resolve, reject) =>
      (health["check"] as (r: unknown, cb: (e: unknown, r: HealthCheckResponse) => void) => void)(
        { service: "" },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(check.status).toBe(1);
    const watched: number[] = [];
    const watch = (health["watch"] as (r: unknown) => NodeJS.ReadableStream)({ service: "" });
    watch.on("data", (r: HealthCheckResponse) => watched.push(r.status));
    watch.on("error", () => {});

    const { client, call, ended, ids } = await writeExchangeInFlight(gateway, boot);

    const exit = gateway.stop("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const ready = await fetch(`${gateway.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { shuttingDown: true } });
    expect(watched).toEqual([1, 2]);
    call.write({ record: encodeLocationsRecord(ids) });
    expect(await ended).toBe(status.OK);
    const started = Date.now();
    expect(await exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    client.close();
    health.close();
  });

  it("on SIGTERM cuts off a call still running after --shutdown-grace, and exits 0", async () => {
    const { gateway, boot } = await fresh(["--shutdown-grace", "1s"]);
    // Left waiting for its locations record (the gateway would wait 5 s).
    const { client, ended } = await writeExchangeInFlight(gateway, boot);
    const started = Date.now();
    expect(await gateway.stop("SIGTERM")).toBe(0);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await ended).toBe(status.UNAVAILABLE);
    expect(await gateway.log()).toContain("calls still running after the shutdown grace were cut off");
    client.close();
  });

  it("exits at once on a second SIGTERM during the shutdown grace", async () => {
    const { gateway, boot } = await fresh(["--shutdown-grace", "30s"]);
    // Left waiting for its locations record: the first SIGTERM would wait for it.
    const { client } = await writeExchangeInFlight(gateway, boot);
    const exit = gateway.stop("SIGTERM");
    await gateway.log((log) => log.includes("shutting down"));
    const started = Date.now();
    gateway.child.kill("SIGTERM");
    expect(await exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await gateway.log()).toContain("second signal during shutdown: exiting now");
    client.close();
  });

  describe("TLS", () => {
    const certDir = async () => {
      const dir = await tempDir();
      cleanups.push(dir.remove);
      return dir.path;
    };

    it("on SIGTERM closes a connection that never finished its TLS handshake, and exits 0", async () => {
      const certs = await certDir();
      const server = await issue(certs, await createCa(certs, "stalled"), "server", "localhost");
      const { gateway } = await fresh([
        "--tls-cert-file",
        server.certFile,
        "--tls-key-file",
        server.keyFile,
        "--shutdown-grace",
        "1s",
      ]);
      // Connected, not a byte of the handshake sent: TLS would wait 120 s for it.
      const stalled = netConnect({ host: "127.0.0.1", port: gateway.port });
      stalled.on("error", () => {});
      stalled.resume();
      await once(stalled, "connect");
      const closed = once(stalled, "close");
      const started = Date.now();
      expect(await gateway.stop("SIGTERM")).toBe(0);
      expect(Date.now() - started).toBeLessThan(4000);
      await closed;
    });

    it("serves TLS 1.3 with ALPN h2: a client with the CA connects, one without is refused, a new certificate is picked up", async () => {
      const certs = await certDir();
      const ca = await createCa(certs, "first");
      const server = await issue(certs, ca, "server", "localhost");
      const certFile = join(certs, "live.pem");
      const keyFile = join(certs, "live.key");
      await copyFile(server.certFile, certFile);
      await copyFile(server.keyFile, keyFile);
      const { gateway, boot } = await fresh(["--tls-cert-file", certFile, "--tls-key-file", keyFile]);
      const push = (ca?: Buffer) => {
        const agent = new AgentClient(
          gateway.target,
          { token: boot.agentToken, projectId: boot.projectId },
          ca ? credentials.createSsl(ca) : credentials.createSsl(),
          { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" },
        );
        return codeOf(agent.writeArrow(encodeArrowV2())).finally(() => agent.close());
      };
      expect(await push(server.ca)).toBe(status.OK);
      expect(await push()).toBe(status.UNAVAILABLE);
      const plaintext = new AgentClient(gateway.target, {
        token: boot.agentToken,
        projectId: boot.projectId,
      });
      expect(await codeOf(plaintext.writeArrow(encodeArrowV2()))).toBe(status.UNAVAILABLE);
      plaintext.close();

      const handshake = (maxVersion: "TLSv1.2" | "TLSv1.3") =>
        new Promise<string>((resolve) => {
          const socket = tlsConnect({
            host: "127.0.0.1",
            port: gateway.port,
            ca: server.ca,
            servername: "localhost",
            ALPNProtocols: ["h2"],
            maxVersion,
          });
          socket.on("secureConnect", () => {
            resolve(`${socket.getProtocol()} ${socket.alpnProtocol}`);
            socket.destroy();
          });
          socket.on("error", () => resolve("refused"));
        });
      expect(await handshake("TLSv1.3")).toBe("TLSv1.3 h2");
      expect(await handshake("TLSv1.2")).toBe("refused");

      const secondCa = await createCa(certs, "second");
      const renewed = await issue(certs, secondCa, "renewed", "localhost");
      await copyFile(renewed.keyFile, keyFile);
      await copyFile(renewed.certFile, certFile);
      let code = status.OK;
      for (let i = 0; i < 50 && code === status.OK; i++) {
        await new Promise((r) => setTimeout(r, 200));
        code = await push(server.ca);
      }
      expect(code).toBe(status.UNAVAILABLE);
      expect(await push(renewed.ca)).toBe(status.OK);
      expect(await gateway.log((text) => text.includes("reloaded the TLS certificate"))).toContain(
        "reloaded the TLS certificate",
      );

      // A key that does not match the certificate: the renewed one stays, and the failure is counted.
      const failures = async () =>
        metricValue(
          parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text()),
          "profgate_tls_reload_failures_total",
        );
      const before = await failures();
      await copyFile(server.keyFile, keyFile);
      let after = before;
      for (let i = 0; i < 50 && after === before; i++) {
        await new Promise((r) => setTimeout(r, 200));
        after = await failures();
      }
      expect(after).toBeGreaterThan(before);
      expect(await push(renewed.ca)).toBe(status.OK);
    });

    it("requires a client certificate with --tls-client-ca-file", async () => {
      const certs = await certDir();
      const ca = await createCa(certs, "mtls");
      const server = await issue(certs, ca, "mtls-server", "localhost");
      const client = await issue(certs, ca, "mtls-client", "agent");
      const { gateway, boot } = await fresh([
        "--tls-cert-file",
        server.certFile,
        "--tls-key-file",
        server.keyFile,
        "--tls-client-ca-file",
        ca.certFile,
      ]);
      const push = (creds: ReturnType<typeof credentials.createSsl>) => {
        const agent = new AgentClient(
          gateway.target,
          { token: boot.agentToken, projectId: boot.projectId },
          creds,
          {
            "grpc.ssl_target_name_override": "localhost",
          },
        );
        return codeOf(agent.writeArrow(encodeArrowV2())).finally(() => agent.close());
      };
      expect(await push(credentials.createSsl(server.ca))).toBe(status.UNAVAILABLE);
      expect(await push(credentials.createSsl(server.ca, client.key, client.cert))).toBe(status.OK);
    });
  });
});
