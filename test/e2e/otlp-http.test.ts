import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as OTLPTraceJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportProfilesServiceRequestSchema } from "../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js";
import { createCa, issue } from "../support/certificates.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { type PreparedIam, prepareIam } from "../support/prepare-iam.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";
import { zstdBomb, zstdRaw } from "../support/zstd-frame.js";

/** A protobuf varint. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = value; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) {
      bytes.push(rest);
      return Buffer.from(bytes);
    }
    bytes.push((rest % 128) | 0x80);
  }
}

/** An Export*ServiceRequest of about `size` bytes: one resource entry with a long schema URL. */
function envelopeOf(size: number): Buffer {
  const text = Buffer.alloc(size, 0x61);
  const inner = Buffer.concat([Buffer.from([0x1a]), varint(text.length), text]);
  return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
}

type ExportResult = { code: number; error?: Error & { code?: number } };

const exported = (run: (done: (result: ExportResult) => void) => void) =>
  new Promise<{ ok: boolean; error: string }>((resolve) =>
    run((result) => resolve({ ok: result.code === 0, error: result.error?.message ?? "" })),
  );

async function telemetry() {
  const spans = new InMemorySpanExporter();
  const tracer = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  }).getTracer("profgate-test");
  tracer.startSpan("probe").end();
  const logs = new InMemoryLogRecordExporter();
  new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] })
    .getLogger("profgate-test")
    .emit({ body: "agent started" });
  class Collect extends MetricReader {
    protected override async onShutdown() {}
    protected override async onForceFlush() {}
  }
  const reader = new Collect();
  new MeterProvider({ readers: [reader] }).getMeter("profgate-test").createCounter("gpu_samples").add(3);
  const { resourceMetrics } = await reader.collect();
  return { spans: spans.getFinishedSpans(), logs: logs.getFinishedLogRecords(), metrics: resourceMetrics };
}

describe("OTLP/HTTP with the official OpenTelemetry exporters", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let iam: PreparedIam;

  beforeAll(async () => {
    dir = await tempDir();
    iam = await prepareIam(dir.path);
    gateway = await startGateway(dir.path, [
      "--rate-limit-bytes-per-second",
      "1MiB",
      "--rate-limit-burst-bytes",
      "1MiB",
    ]);
  });
  afterAll(async () => {
    await gateway?.stop("SIGKILL");
    await dir?.remove();
  });

  const headers = (token: string, projectId = iam.projectId) => ({
    authorization: `Bearer ${token}`,
    projectid: projectId,
  });
  const post = (path: string, body: Uint8Array | string, extra: Record<string, string>) =>
    fetch(`${gateway.otlpHttpUrl}${path}`, {
      method: "POST",
      body: body as unknown as BodyInit,
      headers: extra,
    });

  it("accepts traces (protobuf and JSON), logs and metrics with a profile-writer token, gzip too", async () => {
    const data = await telemetry();
    for (const compression of ["none", "gzip"] as const) {
      const options = { headers: headers(iam.tokens.profileWriter), compression: compression as never };
      const traces = new OTLPTraceExporter({ url: `${gateway.otlpHttpUrl}/v1/traces`, ...options });
      const json = new OTLPTraceJsonExporter({ url: `${gateway.otlpHttpUrl}/v1/traces`, ...options });
      const logs = new OTLPLogExporter({ url: `${gateway.otlpHttpUrl}/v1/logs`, ...options });
      const metrics = new OTLPMetricExporter({ url: `${gateway.otlpHttpUrl}/v1/metrics`, ...options });
      expect(await exported((done) => traces.export(data.spans, done as never))).toEqual({
        ok: true,
        error: "",
      });
      expect(await exported((done) => json.export(data.spans, done as never))).toEqual({
        ok: true,
        error: "",
      });
      expect(await exported((done) => logs.export(data.logs, done as never))).toEqual({
        ok: true,
        error: "",
      });
      expect(await exported((done) => metrics.export(data.metrics, done as never))).toEqual({
        ok: true,
        error: "",
      });
      await Promise.all([traces.shutdown(), json.shutdown(), logs.shutdown(), metrics.shutdown()]);
    }
    const methods = (await sinkRecords(dir.path, iam.projectId)).map((r) => r.method);
    expect(methods.filter((m) => m === "ExportTraces").length).toBe(4);
    expect(methods.filter((m) => m === "ExportLogs").length).toBe(2);
    expect(methods.filter((m) => m === "ExportMetrics").length).toBe(2);
  });

  it("answers as the OTLP specification asks: 401, 403, 400, 413, 415, 404, 405; counted and logged", async () => {
    const request = toBinary(
      ExportProfilesServiceRequestSchema,
      create(ExportProfilesServiceRequestSchema, { resourceProfiles: [{ schemaUrl: "s" }] }),
    );
    const proto = { "content-type": "application/x-protobuf" };
    const path = "/v1development/profiles";
    expect((await post(path, request, proto)).status).toBe(401);
    expect((await post(path, request, { ...proto, ...headers(`psc_v1_${"ab".repeat(32)}`) })).status).toBe(
      401,
    );
    expect((await post(path, request, { ...proto, ...headers(iam.tokens.viewer) })).status).toBe(403);
    expect((await post(path, request, { ...proto, ...headers(iam.tokens.otherProjectWriter) })).status).toBe(
      403,
    );
    const garbage = await post(path, Buffer.from([0x08, 0x96]), { ...proto, ...headers(iam.tokens.agent) });
    expect(garbage.status).toBe(400);
    const wrongType = await post(path, request, {
      "content-type": "text/plain",
      ...headers(iam.tokens.agent),
    });
    expect(wrongType.status).toBe(415);
    const brotli = await post(path, request, {
      ...proto,
      "content-encoding": "br",
      ...headers(iam.tokens.agent),
    });
    expect(brotli.status).toBe(415);
    expect((await post("/v1/nothing", request, { ...proto, ...headers(iam.tokens.agent) })).status).toBe(404);
    expect((await fetch(`${gateway.otlpHttpUrl}${path}`)).status).toBe(405);
    // A zstd bomb (5 KB expanding to 128 MiB) is refused as too large once decompressed.
    const tooLarge = await post(path, zstdBomb(1024), {
      ...proto,
      "content-encoding": "zstd",
      ...headers(iam.tokens.agent),
    });
    expect(tooLarge.status).toBe(413);
    // Bounded before it is buffered: a declared length above the limit is refused before a byte is sent.
    const declared = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${gateway.otlpHttpUrl}${path}`, {
        method: "POST",
        headers: { ...proto, ...headers(iam.tokens.agent), "content-length": String(65 * 1024 * 1024) },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(declared).toBe(413);

    // Counted like the agent listener's calls: the auth decisions, and each request by signal and status.
    const samples = parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
    const decisions = (result: string, reason: string) =>
      metricValue(samples, "profgate_auth_decisions_total", { result, reason });
    expect(decisions("denied", "missing_token")).toBe(1);
    expect(decisions("denied", "unknown_token")).toBe(1);
    expect(decisions("denied", "permission_denied")).toBe(2);
    const requests = (code: string) =>
      metricValue(samples, "profgate_otlp_http_requests_total", { method: "ExportProfiles", code });
    expect([requests("401"), requests("403"), requests("400"), requests("415"), requests("413")]).toEqual([
      2, 2, 1, 2, 2,
    ]);
    // Every refusal gets its access-log line, naming the signal, the caller and why.
    const log = await gateway.log((text) => text.includes('"status":413'));
    const lines = log
      .split("\n")
      .filter((line) => line.includes("OTLP/HTTP request finished"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((l) => l["status"] === 403)).toMatchObject({
      method: "ExportProfiles",
      route: "POST /v1development/profiles",
      details: expect.stringMatching(/profile\.write/),
    });
    // A refusal after the decision names the caller.
    expect(lines.find((l) => l["status"] === 400)).toMatchObject({
      projectId: iam.projectId,
      serviceAccountId: expect.any(String),
      bytes: 2,
    });
    expect(lines.find((l) => l["status"] === 404)).toMatchObject({ method: "unknown" });
  });

  it("stores protobuf bodies byte for byte after gzip or zstd, and rate limits with 429 and Retry-After", async () => {
    const request = toBinary(
      ExportProfilesServiceRequestSchema,
      create(ExportProfilesServiceRequestSchema, { resourceProfiles: [{ schemaUrl: "zstd-or-gzip" }] }),
    );
    const proto = { "content-type": "application/x-protobuf", ...headers(iam.tokens.agent) };
    const gz = await post("/v1development/profiles", gzipSync(request), {
      ...proto,
      "content-encoding": "gzip",
    });
    expect(gz.status).toBe(200);
    expect((await gz.arrayBuffer()).byteLength).toBe(0);
    const zs = await post("/v1development/profiles", zstdRaw(request), {
      ...proto,
      "content-encoding": "zstd",
    });
    expect(zs.status).toBe(200);
    const profiles = (await sinkRecords(dir.path, iam.projectId)).filter(
      (r) => r.method === "ExportProfiles",
    );
    expect(profiles.map((r) => Buffer.from(r.payloads[0]!))).toEqual([
      Buffer.from(request),
      Buffer.from(request),
    ]);
    // 1 MiB/s with a 1 MiB burst: the second 900 KiB body within the second is refused.
    const big = envelopeOf(900 * 1024);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const response = await post("/v1/logs", big, proto);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
    }
    expect(statuses).toContain(429);
    expect(retryAfter).toBe("1");
  });
});

describe("OTLP/HTTP over TLS", () => {
  it("serves HTTPS with the gRPC listener's certificate: trusted with its CA, refused without", async () => {
    const dir = await tempDir();
    const ca = await createCa(dir.path, "otlp-http");
    const server = await issue(dir.path, ca, "server", "127.0.0.1");
    const gateway = await startGateway(join(dir.path, "data"), [
      "--tls-cert-file",
      server.certFile,
      "--tls-key-file",
      server.keyFile,
    ]);
    try {
      const boot = await readBootstrap(join(dir.path, "data"));
      const body = envelopeOf(100);
      const post = (options: { ca?: Buffer }) =>
        new Promise<number>((resolve, reject) => {
          const req = httpsRequest(
            `${gateway.otlpHttpUrl.replace(/^http:/, "https:")}/v1/traces`,
            {
              method: "POST",
              headers: {
                "content-type": "application/x-protobuf",
                authorization: `Bearer ${boot.agentToken}`,
                projectid: boot.projectId,
              },
              ...options,
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      expect(await post({ ca: await readFile(ca.certFile) })).toBe(200);
      await expect(post({})).rejects.toThrow(/self[- ]signed|unable to verify|issuer/i);
      const stored = await sinkRecords(join(dir.path, "data"), boot.projectId);
      expect(stored.map((r) => [r.method, Buffer.from(r.payloads[0]!)])).toEqual([["ExportTraces", body]]);
    } finally {
      await gateway.stop("SIGKILL");
      await dir.remove();
    }
  });
});
