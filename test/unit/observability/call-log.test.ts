import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { callLogger } from "../../../src/observability/call-log.js";
import type { CallEndInfo } from "../../../src/observability/grpc-metrics-interceptor.js";
import { createLogger } from "../../../src/observability/logger.js";

const TOKEN = `psc_v1_${"ab".repeat(32)}`;
const IDENTITY = { organizationId: "org-1", projectId: "proj-1", serviceAccountId: "sa-1", tokenId: "tok-1" };

function capture(level: "info" | "debug" = "info") {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger(level, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

function info(overrides: Partial<CallEndInfo>): CallEndInfo {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${TOKEN}`);
  return {
    path: "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw",
    service: "parca.profilestore.v1alpha1.ProfileStoreService",
    method: "WriteRaw",
    type: "unary",
    code: status.OK,
    details: "OK",
    durationSeconds: 0.0123456,
    peer: "127.0.0.1:50000",
    messagesReceived: 1,
    messagesSent: 1,
    bytesReceived: 2048,
    abandoned: false,
    metadata,
    ...overrides,
  };
}

describe("callLogger", () => {
  it("logs one info line per successful call with who made it, never the metadata", () => {
    const { log, lines } = capture();
    const contexts = new WeakMap<Metadata, typeof IDENTITY>();
    const call = info({});
    contexts.set(call.metadata!, IDENTITY);
    callLogger({ log, contextOf: (m) => contexts.get(m) })(call);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      method: "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw",
      ...IDENTITY,
      code: "OK",
      durationMs: 12.346,
      bytes: 2048,
      peer: "127.0.0.1:50000",
    });
    expect(lines[0]).not.toHaveProperty("details");
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });

  it("logs server faults at warn, client errors at info and calls the client cancelled at debug", () => {
    const { log, lines } = capture("debug");
    const logCall = callLogger({ log, contextOf: () => undefined });
    logCall(info({ code: status.INTERNAL, details: "Internal error; see the gateway's log." }));
    logCall(info({ code: status.DATA_LOSS, details: "lost" }));
    logCall(info({ code: status.UNAUTHENTICATED, details: "Missing credentials" }));
    logCall(info({ code: status.CANCELLED, details: "Cancelled by the client" }));
    expect(lines.map((l) => [l["level"], l["code"]])).toEqual([
      ["warn", "INTERNAL"],
      ["warn", "DATA_LOSS"],
      ["info", "UNAUTHENTICATED"],
      ["debug", "CANCELLED"],
    ]);
    const quiet = capture("info");
    callLogger({ log: quiet.log, contextOf: () => undefined })(
      info({ code: status.CANCELLED, details: "gone" }),
    );
    expect(quiet.lines).toEqual([]);
    expect(lines[2]).toMatchObject({ details: "Missing credentials" });
    expect(lines[2]).not.toHaveProperty("organizationId");
  });

  it("leaves out successful health checks by default, but not failed ones", () => {
    const { log, lines } = capture();
    const logCall = callLogger({ log, contextOf: () => undefined });
    const path = "/grpc.health.v1.Health/Check";
    logCall(info({ path, code: status.OK }));
    logCall(info({ path, code: status.NOT_FOUND }));
    expect(lines.map((l) => l["code"])).toEqual(["NOT_FOUND"]);
  });
});
