import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { logCall } from "../../../src/observability/call-log.js";
import { type CallEnd, methodInfo } from "../../../src/rpc/call-events.js";
import { createLogger } from "../../../src/observability/logger.js";

const IDENTITY = { organizationId: "org-1", projectId: "proj-1", serviceAccountId: "sa-1", tokenId: "tok-1" };

function capture(level: "info" | "debug" = "info") {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger(level, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

function info(overrides: Partial<CallEnd> & { path?: string }): CallEnd {
  const { path = "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw", ...rest } = overrides;
  return {
    method: methodInfo({ path, requestStream: false, responseStream: false }),
    code: status.OK,
    details: "OK",
    durationSeconds: 0.0123456,
    peer: "127.0.0.1:50000",
    messagesReceived: 1,
    messagesSent: 1,
    bytesReceived: 2048,
    abandoned: false,
    caller: undefined,
    ...rest,
  };
}

describe("the call log", () => {
  it("logs one info line per successful call with who made it, with ids only", () => {
    const { log, lines } = capture();
    logCall({ log })(info({ caller: IDENTITY }));
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
  });

  it("logs a sample of the successful calls, and every failure", () => {
    const { log, lines } = capture();
    const sampled = logCall({ log, successSample: 0.25 });
    for (let i = 0; i < 4000; i++) sampled(info({ caller: IDENTITY }));
    expect(lines.length).toBeGreaterThan(800);
    expect(lines.length).toBeLessThan(1200);
    lines.length = 0;
    const failuresOnly = logCall({ log, successSample: 0 });
    for (let i = 0; i < 10; i++) failuresOnly(info({ caller: IDENTITY }));
    failuresOnly(info({ code: status.PERMISSION_DENIED, details: "no binding" }));
    failuresOnly(info({ code: status.INTERNAL, details: "boom" }));
    expect(lines.map((l) => l["code"])).toEqual(["PERMISSION_DENIED", "INTERNAL"]);
  });

  it("logs server faults at warn, client errors at info and calls the client cancelled at debug", () => {
    const { log, lines } = capture("debug");
    const logOne = logCall({ log });
    logOne(info({ code: status.INTERNAL, details: "Internal error; see the gateway's log." }));
    logOne(info({ code: status.DATA_LOSS, details: "lost" }));
    logOne(info({ code: status.UNAUTHENTICATED, details: "Missing credentials" }));
    logOne(info({ code: status.CANCELLED, details: "Cancelled by the client" }));
    expect(lines.map((l) => [l["level"], l["code"]])).toEqual([
      ["warn", "INTERNAL"],
      ["warn", "DATA_LOSS"],
      ["info", "UNAUTHENTICATED"],
      ["debug", "CANCELLED"],
    ]);
    const quiet = capture("info");
    logCall({ log: quiet.log })(info({ code: status.CANCELLED, details: "gone" }));
    expect(quiet.lines).toEqual([]);
    expect(lines[2]).toMatchObject({ details: "Missing credentials" });
    expect(lines[2]).not.toHaveProperty("organizationId");
  });

  it("leaves out successful health checks by default, but not failed ones", () => {
    const { log, lines } = capture();
    const logOne = logCall({ log });
    const path = "/grpc.health.v1.Health/Check";
    logOne(info({ path, code: status.OK }));
    logOne(info({ path, code: status.NOT_FOUND }));
    expect(lines.map((l) => l["code"])).toEqual(["NOT_FOUND"]);
  });
});
