import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Metadata, status } from "@grpc/grpc-js";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { ExportLogsServiceRequestSchema } from "../../src/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js";
import { ExportMetricsServiceRequestSchema } from "../../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js";
import { ExportProfilesServiceRequestSchema } from "../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js";
import { ExportTraceServiceRequestSchema } from "../../src/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { METHOD_PATHS } from "../../src/record-log/record.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { grpcFrame } from "../support/raw-grpc.js";
import { grpcHeaders, http2Session, rawHttp2Call } from "../support/raw-http2.js";
import { type PreparedIam, prepareIam } from "../support/prepare-iam.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";
import { zstdBomb, zstdHugeWindow, zstdRaw } from "../support/zstd-frame.js";

/** What an OTel exporter's export reports: 0 success, 1 failure with the gRPC error. */
type ExportResult = { code: number; error?: { code?: number; message?: string } };

const exported = (run: (done: (result: ExportResult) => void) => void) =>
  new Promise<{ ok: boolean; grpcCode: number | undefined; message: string }>((resolve) =>
    run((result) =>
      resolve({
        ok: result.code === 0,
        grpcCode: result.error?.code,
        message: result.error?.message ?? "",
      }),
    ),
  );

/** `data` compressed by the zstd command (level 3, its default; with a checksum, as Go's encoder writes). */
function zstdCompress(data: Uint8Array): Buffer {
  const run = spawnSync("zstd", ["-q", "-3", "-c"], { input: data });
  if (run.status !== 0) throw new Error(`zstd failed: ${run.stderr}`);
  return run.stdout;
}

/**
 * An ExportTraceServiceRequest of about 200 KB that compresses well: one resource spans entry
 * whose schema URL repeats a text with varying numbers.
 */
const traces = (() => {
  const text = Buffer.from(Array.from({ length: 8000 }, (_, i) => `span ${i} of probe ${i % 7};`).join(""));
  const varint = (n: number) => {
    const bytes: number[] = [];
    let rest = n;
    for (; rest >= 128; rest = Math.floor(rest / 128)) bytes.push((rest % 128) | 0x80);
    bytes.push(rest);
    return Buffer.from(bytes);
  };
  const inner = Buffer.concat([Buffer.from([0x1a]), varint(text.length), text]);
  return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
})();

/** One gRPC call on `session`: its response headers, and its trailers. */
function responseHeaders(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: readonly Uint8Array[],
): Promise<IncomingHttpHeaders & { trailers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let response: IncomingHttpHeaders = {};
    stream.on("response", (h) => {
      response = h;
    });
    stream.on("trailers", (trailers) => resolve({ ...response, trailers }));
    stream.on("error", reject);
    stream.resume();
    for (const chunk of body) stream.write(chunk);
    stream.end();
  });
}

function credentials(token: string, projectId: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  metadata.set("projectid", projectId);
  return metadata;
}

/** A few spans, log records and metrics, made by the OpenTelemetry SDKs. */
async function telemetry() {
  const spans = new InMemorySpanExporter();
  const tracer = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  }).getTracer("profgate-test");
  for (const name of ["probe-a", "probe-b"]) tracer.startSpan(name).end();
  const logs = new InMemoryLogRecordExporter();
  const logger = new LoggerProvider({
    processors: [new SimpleLogRecordProcessor({ exporter: logs })],
  }).getLogger("profgate-test");
  logger.emit({ body: "agent started", severityText: "INFO" });
  class Collect extends MetricReader {
    protected override async onShutdown() {}
    protected override async onForceFlush() {}
  }
  const reader = new Collect();
  const meter = new MeterProvider({ readers: [reader] }).getMeter("profgate-test");
  meter.createCounter("gpu_samples").add(3);
  const { resourceMetrics } = await reader.collect();
  return { spans: spans.getFinishedSpans(), logs: logs.getFinishedLogRecords(), metrics: resourceMetrics };
}

describe("the 2026 agent's OTLP signals over gRPC, with the official OpenTelemetry exporters", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let iam: PreparedIam;

  beforeAll(async () => {
    dir = await tempDir();
    iam = await prepareIam(dir.path);
    gateway = await startGateway(dir.path);
  });
  afterAll(async () => {
    await gateway?.stop("SIGKILL");
    await dir?.remove();
  });

  const exportAll = async (token: string, projectId: string, compression?: "gzip") => {
    const options = {
      url: `http://${gateway.target}`,
      metadata: credentials(token, projectId),
      ...(compression ? { compression } : {}),
    };
    const data = await telemetry();
    const traces = new OTLPTraceExporter(options as never);
    const logs = new OTLPLogExporter(options as never);
    const metrics = new OTLPMetricExporter(options as never);
    try {
      return {
        traces: await exported((done) => traces.export(data.spans, done as never)),
        logs: await exported((done) => logs.export(data.logs, done as never)),
        metrics: await exported((done) => metrics.export(data.metrics, done as never)),
      };
    } finally {
      await Promise.all([traces.shutdown(), logs.shutdown(), metrics.shutdown()]);
    }
  };

  it("accepts traces, logs and metrics with a profile-writer token, plain and gzip, and stores them", async () => {
    for (const compression of [undefined, "gzip"] as const) {
      const results = await exportAll(iam.tokens.profileWriter, iam.projectId, compression);
      expect(results, String(compression)).toEqual({
        traces: { ok: true, grpcCode: undefined, message: "" },
        logs: { ok: true, grpcCode: undefined, message: "" },
        metrics: { ok: true, grpcCode: undefined, message: "" },
      });
    }
    const records = await sinkRecords(dir.path, iam.projectId);
    // What was stored is what the exporters sent: their spans, log records and metrics, read back.
    const payloadOf = (method: string) => records.find((r) => r.method === method)!.payloads[0]!;
    const spans = fromBinary(ExportTraceServiceRequestSchema, payloadOf("ExportTraces"));
    expect(
      spans.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.name))),
    ).toEqual(["probe-a", "probe-b"]);
    const logs = fromBinary(ExportLogsServiceRequestSchema, payloadOf("ExportLogs"));
    expect(logs.resourceLogs[0]?.scopeLogs[0]?.logRecords[0]?.body?.value).toEqual({
      case: "stringValue",
      value: "agent started",
    });
    const metrics = fromBinary(ExportMetricsServiceRequestSchema, payloadOf("ExportMetrics"));
    expect(metrics.resourceMetrics[0]?.scopeMetrics[0]?.metrics.map((m) => m.name)).toEqual(["gpu_samples"]);
    const methods = records.map((r) => r.method).sort();
    expect(methods).toEqual([
      "ExportLogs",
      "ExportLogs",
      "ExportMetrics",
      "ExportMetrics",
      "ExportTraces",
      "ExportTraces",
    ]);
  });

  it("refuses them without a token, with an unknown one, with a viewer's and for another project", async () => {
    const unknown = `psc_v1_${"ab".repeat(32)}`;
    const cases: Array<[string, string, string, number]> = [
      ["unknown token", unknown, iam.projectId, status.UNAUTHENTICATED],
      ["viewer", iam.tokens.viewer, iam.projectId, status.PERMISSION_DENIED],
      ["another project", iam.tokens.otherProjectWriter, iam.projectId, status.PERMISSION_DENIED],
    ];
    for (const [name, token, projectId, code] of cases) {
      const results = await exportAll(token, projectId);
      for (const result of Object.values(results)) expect(result.grpcCode, name).toBe(code);
    }
    const anonymous = new OTLPTraceExporter({ url: `http://${gateway.target}` } as never);
    const refused = await exported(async (done) =>
      anonymous.export((await telemetry()).spans, done as never),
    );
    expect(refused.grpcCode).toBe(status.UNAUTHENTICATED);
    await anonymous.shutdown();

    // Counted and logged under their own service names, like Parca's methods.
    const samples = parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
    const handled = (service: string, code: string) =>
      metricValue(samples, "grpc_server_handled_total", {
        grpc_service: `opentelemetry.proto.collector.${service}`,
        grpc_method: "Export",
        grpc_code: code,
      });
    expect(handled("trace.v1.TraceService", "OK")).toBe(2);
    expect(handled("logs.v1.LogsService", "OK")).toBe(2);
    expect(handled("metrics.v1.MetricsService", "OK")).toBe(2);
    expect(handled("trace.v1.TraceService", "PERMISSION_DENIED")).toBe(2);
    expect(handled("metrics.v1.MetricsService", "UNAUTHENTICATED")).toBe(1);
    const refusalLines = (text: string) =>
      text.split("\n").filter((line) => line.includes('"call finished"') && line.includes("opentelemetry"));
    // Three refused exports for each of three credentials, and the anonymous one.
    const log = await gateway.log((text) => refusalLines(text).length >= 10);
    const refusals = refusalLines(log).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(refusals).toHaveLength(10);
    expect(refusals).toContainEqual(
      expect.objectContaining({
        method: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        code: "PERMISSION_DENIED",
        details: expect.stringMatching(/profile\.write/),
      }),
    );
  });

  it("stores OTLP profiles byte for byte, zstd included, and refuses what is not an envelope", async () => {
    const agent = new AgentClient(gateway.target, { token: iam.tokens.agent, projectId: iam.projectId });
    const request = toBinary(
      ExportProfilesServiceRequestSchema,
      create(ExportProfilesServiceRequestSchema, {
        resourceProfiles: [{ schemaUrl: "https://opentelemetry.io/schemas/1.30.0" }],
      }),
    );
    // A field of a later version (number 99) is tolerated and kept.
    const withUnknownField = Buffer.concat([request, Buffer.from([0x9a, 0x06, 0x02, 0x08, 0x01])]);
    expect(await agent.unaryRaw(METHOD_PATHS.ExportProfiles, withUnknownField)).toEqual(Buffer.alloc(0));
    const garbage = await agent.unaryRaw(METHOD_PATHS.ExportProfiles, Buffer.from([0x08, 0x96])).then(
      () => ({ code: status.OK, details: "" }),
      (e: { code: number; details: string }) => e,
    );
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toMatch(/not a well-formed ExportProfilesServiceRequest/);
    agent.close();

    const session = await http2Session(gateway.target);
    try {
      const headers = grpcHeaders(METHOD_PATHS.ExportLogs, {
        authorization: `Bearer ${iam.tokens.agent}`,
        projectid: iam.projectId,
        "grpc-encoding": "zstd",
      });
      const logs = toBinary(
        ExportProfilesServiceRequestSchema,
        create(ExportProfilesServiceRequestSchema, {}),
      );
      const zstd = await rawHttp2Call(session, headers, [
        grpcFrame(zstdRaw(Buffer.concat([logs, Buffer.from([0x0a, 0x00])])), { compressed: true }),
      ]);
      expect(zstd.grpcStatus).toBe(status.OK);
      // A frame from the zstd reference compressor (entropy-coded blocks, as agents send), and the
      // encodings the gateway advertises in its answer.
      const compressed = await responseHeaders(session, { ...headers, ":path": METHOD_PATHS.ExportTraces }, [
        grpcFrame(zstdCompress(traces), { compressed: true }),
      ]);
      expect(compressed["grpc-accept-encoding"]).toBe("identity,deflate,gzip,zstd");
      expect(compressed.trailers["grpc-status"]).toBe("0");
      const unknownEncoding = await rawHttp2Call(session, { ...headers, "grpc-encoding": "br" }, [
        grpcFrame(Buffer.from([1]), { compressed: true }),
      ]);
      expect(unknownEncoding.grpcStatus).toBe(status.UNIMPLEMENTED);
      expect(unknownEncoding.grpcMessage).toMatch(/identity, deflate, gzip, zstd/);
    } finally {
      session.destroy();
    }
    const stored = (await sinkRecords(dir.path, iam.projectId)).filter(
      (r) => r.method !== "ExportTraces" && r.method !== "ExportMetrics",
    );
    const profiles = stored.filter((r) => r.method === "ExportProfiles");
    expect(profiles.map((r) => Buffer.from(r.payloads[0]!))).toEqual([withUnknownField]);
    const lastLogs = stored.filter((r) => r.method === "ExportLogs").at(-1)!;
    expect(Buffer.from(lastLogs.payloads[0]!)).toEqual(Buffer.from([0x0a, 0x00]));
    const lastTraces = (await sinkRecords(dir.path, iam.projectId))
      .filter((r) => r.method === "ExportTraces")
      .at(-1)!;
    expect(Buffer.from(lastTraces.payloads[0]!)).toEqual(traces);
  });

  it("refuses a zstd bomb without holding what it would expand to", async () => {
    const rss = async () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${gateway.child.pid}/status`, "utf8"))?.[1]) *
      1024;
    const before = await rss();
    const session = await http2Session(gateway.target);
    try {
      const headers = grpcHeaders(METHOD_PATHS.ExportTraces, {
        authorization: `Bearer ${iam.tokens.agent}`,
        projectid: iam.projectId,
        "grpc-encoding": "zstd",
      });
      // 1,024 RLE blocks: 5 KB on the wire, 128 MiB once expanded, twice the receive limit.
      const bomb = await rawHttp2Call(session, headers, [grpcFrame(zstdBomb(1024), { compressed: true })]);
      expect(bomb.grpcStatus).toBe(status.INVALID_ARGUMENT);
      expect(bomb.grpcMessage).toMatch(/decompresses to more than the gateway's limit of 67108864 bytes/);
      // A frame whose header asks for a 1 GiB window is refused before any of it is allocated.
      const window = await rawHttp2Call(session, headers, [
        grpcFrame(zstdHugeWindow(20), { compressed: true }),
      ]);
      expect(window.grpcStatus).toBe(status.INVALID_ARGUMENT);
    } finally {
      session.destroy();
    }
    expect((await rss()) - before).toBeLessThan(96 * 1024 * 1024);
  });
});
