import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ProfileStoreService,
  type WriteRequest,
  WriteRequestSchema,
} from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import {
  type ReportPanicRequest,
  ReportPanicRequestSchema,
  TelemetryService,
} from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { grpcFrame } from "../support/raw-grpc.js";
import { grpcHeaders, http2Session, rawHttp2Call } from "../support/raw-http2.js";
import { callLogger } from "../../src/observability/call-log.js";
import type { CallDecision } from "../../src/edge/front-gate.js";
import { createEdge } from "../../src/edge/create-edge.js";
import { DomainError, invalidArgument } from "../../src/errors.js";
import { grpcServerMetrics } from "../../src/observability/grpc-server-metrics.js";
import type { CallEnd } from "../../src/rpc/call-events.js";
import { asCallError } from "../../src/rpc/call-error.js";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { type Received, serviceDefinition } from "../../src/rpc/service-definition.js";

const TOKEN = `psc_v1_${"cd".repeat(32)}`;
const PANIC = "/parca.telemetry.v1alpha1.TelemetryService/ReportPanic";

/** `name{labels} value` lines of a scrape, as a lookup by name and a subset of labels. */
function parseScrape(text: string) {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
}

/** The auth decision of these tests: a call with a token is refused, one without is org-1's. */
const decide: CallDecision = (_policy, credentials) => {
  if (credentials.authorization !== undefined) throw new DomainError("unauthenticated", "refused");
  return {
    organizationId: "org-1",
    projectId: "",
    serviceAccountId: "sa-1",
    tokenId: "tok-1",
    tokenHash: "",
    grants: [],
    installationOwner: false,
  };
};

type Stream = NodeJS.ReadWriteStream & { write(m: unknown): boolean; cancel(): void };

describe("the edge's call observer and the gRPC metrics on a real server", () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { perProject: false });
  const ended: CallEnd[] = [];
  const logLines: string[] = [];
  const edge = createEdge({
    policyFor: () => ({ project: false }),
    decide,
    observers: [
      grpcServerMetrics(metrics.grpc),
      callLogger({ log: createLogger("info", { write: (line: string) => logLines.push(line) }) }),
      { forMethod: () => ({ ended: (end) => ended.push(end) }) },
    ],
  });
  let writeHalfCloses = 0;
  let panicsHandled = 0;
  let target = "";
  let telemetry: Client & Record<string, (...args: unknown[]) => unknown>;
  let profiles: Client & Record<string, (metadata?: Metadata, options?: object) => Stream>;

  beforeAll(async () => {
    edge.addService({
      definition: serviceDefinition(TelemetryService, { keepRaw: true }),
      implementation: {
        reportPanic(
          call: ServerUnaryCall<Received<ReportPanicRequest>, unknown>,
          callback: sendUnaryData<unknown>,
        ) {
          panicsHandled++;
          if (call.request.message.stderr === "fail") callback(asCallError(invalidArgument("bad")));
          else callback(null, {});
        },
      },
    });
    edge.addService({
      definition: serviceDefinition(ProfileStoreService),
      implementation: {
        // Echoes each record and ends the call itself after "last", as the Write exchange does
        // after the locations record; "hang" it never answers.
        write(call: ServerDuplexStream<WriteRequest, unknown>) {
          call.on("end", () => writeHalfCloses++);
          call.on("data", (m: WriteRequest) => {
            const text = Buffer.from(m.record).toString();
            if (text !== "hang") call.write({ record: m.record });
            if (text === "last") call.end();
          });
        },
      },
    });
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    target = `127.0.0.1:${port}`;
    const Telemetry = makeGenericClientConstructor(serviceDefinition(TelemetryService), "Telemetry");
    const Profiles = makeGenericClientConstructor(serviceDefinition(ProfileStoreService), "ProfileStore");
    telemetry = new Telemetry(target, credentials.createInsecure()) as typeof telemetry;
    profiles = new Profiles(target, credentials.createInsecure()) as typeof profiles;
  });

  afterAll(async () => {
    telemetry?.close();
    profiles?.close();
    await edge.close(1000);
  });

  function reportPanic(stderr: string, metadata = new Metadata()): Promise<number> {
    return new Promise((resolve) =>
      telemetry["reportPanic"]!({ stderr }, metadata, (error: ServiceError | null) =>
        resolve(error ? error.code : status.OK),
      ),
    );
  }

  /** Waits until the server has ended `count` calls (a cancel reaches it after the client moved on). */
  async function serverEnded(count: number): Promise<void> {
    for (let i = 0; i < 200 && ended.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ended).toHaveLength(count);
  }

  it("counts unary calls: OK, a handler error, and a call refused by the auth gate", async () => {
    const refused = new Metadata();
    refused.set("authorization", `Bearer ${TOKEN}`);
    expect(await reportPanic("one")).toBe(status.OK);
    expect(await reportPanic("two")).toBe(status.OK);
    expect(await reportPanic("fail")).toBe(status.INVALID_ARGUMENT);
    expect(await reportPanic("three", refused)).toBe(status.UNAUTHENTICATED);
    await serverEnded(4);

    const scrape = parseScrape(await registry.metrics());
    const labels = {
      grpc_type: "unary",
      grpc_service: "parca.telemetry.v1alpha1.TelemetryService",
      grpc_method: "ReportPanic",
    };
    expect(scrape("grpc_server_started_total", labels)).toBe(4);
    expect(scrape("grpc_server_handled_total", { ...labels, grpc_code: "OK" })).toBe(2);
    expect(scrape("grpc_server_handled_total", { ...labels, grpc_code: "INVALID_ARGUMENT" })).toBe(1);
    expect(scrape("grpc_server_handled_total", { ...labels, grpc_code: "UNAUTHENTICATED" })).toBe(1);
    expect(scrape("grpc_server_handled_total", labels)).toBe(4);
    // The refused call's message is never read.
    expect(scrape("grpc_server_msg_received_total", labels)).toBe(3);
    expect(scrape("grpc_server_msg_sent_total", labels)).toBe(2);
    expect(scrape("grpc_server_handling_seconds_count", labels)).toBe(4);

    const first = ended[0]!;
    expect(first).toMatchObject({
      method: { path: PANIC, method: "ReportPanic", type: "unary" },
      code: status.OK,
    });
    const bytes = toBinary(
      ReportPanicRequestSchema,
      create(ReportPanicRequestSchema, { stderr: "one" }),
    ).length;
    expect(first.bytesReceived).toBe(bytes);
    expect(first.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ended[3]).toMatchObject({ code: status.UNAUTHENTICATED, details: "refused", bytesReceived: 0 });
  });

  it("writes one log line per call, with the caller when known and never the token", () => {
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l["code"])).toEqual(["OK", "OK", "INVALID_ARGUMENT", "UNAUTHENTICATED"]);
    expect(lines[0]).toMatchObject({ method: PANIC, organizationId: "org-1", tokenId: "tok-1" });
    expect(lines[3]).not.toHaveProperty("organizationId");
    expect(logLines.join("\n")).not.toContain(TOKEN);
  });

  it("counts every message of a bidi stream, and ends a cancelled one as CANCELLED", async () => {
    const before = ended.length;
    const labels = { grpc_type: "bidi_stream", grpc_method: "Write" };

    const full = profiles["write"]!();
    const echoes: unknown[] = [];
    full.on("data", (m) => echoes.push(m));
    const done = new Promise((resolve) => full.on("status", resolve));
    full.write({ record: Buffer.from("a") });
    full.write({ record: Buffer.from("last") });
    await done;
    expect(echoes).toHaveLength(2);

    const cancelled = profiles["write"]!();
    cancelled.on("error", () => {});
    cancelled.write({ record: Buffer.from("c") });
    await new Promise((resolve) => cancelled.once("data", resolve));
    cancelled.cancel();
    await serverEnded(before + 2);

    const scrape = parseScrape(await registry.metrics());
    expect(scrape("grpc_server_started_total", labels)).toBe(2);
    expect(scrape("grpc_server_handled_total", { ...labels, grpc_code: "OK" })).toBe(1);
    expect(scrape("grpc_server_handled_total", { ...labels, grpc_code: "CANCELLED" })).toBe(1);
    expect(scrape("grpc_server_msg_received_total", labels)).toBe(3);
    expect(scrape("grpc_server_msg_sent_total", labels)).toBe(3);
    expect(ended.at(-1)).toMatchObject({
      method: { type: "bidi_stream" },
      code: status.CANCELLED,
      messagesReceived: 1,
    });
  });

  it("ends a stream that outlives its deadline as DEADLINE_EXCEEDED", async () => {
    const before = ended.length;
    const stream = profiles["write"]!(new Metadata(), { deadline: Date.now() + 200 });
    const code = new Promise<number>((resolve) => stream.on("error", (e: ServiceError) => resolve(e.code)));
    stream.write({ record: Buffer.from("hang") });
    expect(await code).toBe(status.DEADLINE_EXCEEDED);
    await serverEnded(before + 1);
    const scrape = parseScrape(await registry.metrics());
    expect(
      scrape("grpc_server_handled_total", { grpc_method: "Write", grpc_code: "DEADLINE_EXCEEDED" }),
    ).toBe(1);
    expect(scrape("grpc_server_handled_total", { grpc_method: "Write", grpc_code: "CANCELLED" })).toBe(1);
  });

  it("answers a unary call that ends without its message with INVALID_ARGUMENT, not UNIMPLEMENTED", async () => {
    const before = ended.length;
    const handled = panicsHandled;
    const session = await http2Session(target);
    try {
      const outcome = await rawHttp2Call(session, grpcHeaders(PANIC), []);
      expect(outcome.grpcStatus).toBe(status.INVALID_ARGUMENT);
      expect(outcome.grpcMessage).toContain("exactly one request message");
    } finally {
      session.destroy();
    }
    await serverEnded(before + 1);
    expect(panicsHandled).toBe(handled);
    const scrape = parseScrape(await registry.metrics());
    expect(
      scrape("grpc_server_handled_total", { grpc_method: "ReportPanic", grpc_code: "UNIMPLEMENTED" }),
    ).toBe(0);
    expect(ended.at(-1)).toMatchObject({
      method: { path: PANIC },
      code: status.INVALID_ARGUMENT,
      messagesReceived: 0,
    });
  });

  it("ends calls abandoned with their connection as CANCELLED, without the handler seeing a half-close", async () => {
    const before = ended.length;
    const scrapeBefore = parseScrape(await registry.metrics());
    const cancelledBefore = (method: string) =>
      scrapeBefore("grpc_server_handled_total", { grpc_method: method, grpc_code: "CANCELLED" });
    const panicCancelled = cancelledBefore("ReportPanic");
    const writeCancelled = cancelledBefore("Write");
    const halfCloses = writeHalfCloses;
    const handled = panicsHandled;

    const session = await http2Session(target);
    const streams = [PANIC, PANIC, "/parca.profilestore.v1alpha1.ProfileStoreService/Write"].map((path) => {
      const stream = session.request(grpcHeaders(path), { endStream: false });
      stream.on("error", () => {});
      return stream;
    });
    // The Write stream gets one record, which the handler echoes: it is running.
    const write = streams[2]!;
    write.write(
      grpcFrame(toBinary(WriteRequestSchema, create(WriteRequestSchema, { record: Buffer.from("x") }))),
    );
    await new Promise((resolve) => write.once("data", resolve));
    session.destroy();
    await serverEnded(before + 3);

    const scrape = parseScrape(await registry.metrics());
    const cancelled = (method: string) =>
      scrape("grpc_server_handled_total", { grpc_method: method, grpc_code: "CANCELLED" });
    expect(cancelled("ReportPanic") - panicCancelled).toBe(2);
    expect(cancelled("Write") - writeCancelled).toBe(1);
    expect(scrape("grpc_server_handled_total", { grpc_code: "UNIMPLEMENTED" })).toBe(0);
    expect(scrape("grpc_server_handled_total", { grpc_code: "INVALID_ARGUMENT", grpc_method: "Write" })).toBe(
      0,
    );
    expect(writeHalfCloses).toBe(halfCloses);
    expect(panicsHandled).toBe(handled);
    // A cancelled call is logged at debug: none of the three reached the info log.
    expect(logLines.filter((l) => l.includes('"CANCELLED"'))).toEqual([]);
  });
});
