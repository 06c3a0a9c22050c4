import { connect, constants as http2Constants } from "node:http2";
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  ServerCredentials,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { authContextOf } from "../../src/auth/call-context.js";
import type { AuthDecision, MethodPolicy } from "../../src/auth/method-policies.js";
import type { AuthContext } from "../../src/auth/principal.js";
import { createEdge, type Edge } from "../../src/edge/create-edge.js";
import { DomainError } from "../../src/errors.js";
import { ProfileStoreService } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { rawServiceDefinition } from "../../src/rpc/raw-service-definition.js";
import type { CallEnd } from "../../src/rpc/call-events.js";

const PATH = `/${TelemetryService.typeName}/ReportPanic`;
const POLICY: MethodPolicy = { permission: "telemetry.report", project: true };

const contextFor = (serviceAccountId: string): AuthContext => ({
  organizationId: "org",
  serviceAccountId,
  tokenId: "t",
  tokenHash: "h",
  grants: [],
  installationOwner: false,
  projectId: "p",
});

const refused = () => new DomainError("unauthenticated", "Invalid token: no such token.", "unknown_token");
const later = <T>(ms: number, f: () => T) => new Promise<T>((resolve) => setTimeout(resolve, ms)).then(f);

/**
 * The front gate decides on the HTTP/2 stream before grpc-js builds a call: a refused call gets
 * its status and a RST_STREAM without the gateway waiting for (or reading) its body; an allowed
 * one reaches its handler with the decided context, decided once.
 */
describe("the edge's front gate", () => {
  let edge: Edge;
  let target = "";
  const ends: CallEnd[] = [];
  const decisions: AuthDecision[] = [];
  const allowed: string[] = [];
  let handled = 0;

  beforeAll(async () => {
    edge = createEdge({
      policyFor: (path) => (path === PATH ? POLICY : undefined),
      decide: (_policy, presented) => {
        switch (presented.authorization) {
          case "Bearer good":
            return contextFor("sync");
          case "Bearer slow-good":
            return later(50, () => contextFor("async"));
          case "Bearer slow-bad":
            return later(50, () => {
              throw refused();
            });
          case "Bearer very-slow-good":
            return later(400, () => contextFor("late"));
          default:
            throw refused();
        }
      },
      observers: [{ forMethod: () => ({ ended: (end) => ends.push(end) }) }],
      hooks: {
        onDecision: (decision) => decisions.push(decision),
        onAllowed: (context) => allowed.push(context.serviceAccountId),
      },
    });
    edge.addService({
      definition: rawServiceDefinition(TelemetryService),
      implementation: {
        reportPanic: (call: { request: Buffer; metadata: Metadata }, callback: sendUnaryData<Buffer>) => {
          handled++;
          callback(null, Buffer.from(authContextOf(call).serviceAccountId));
        },
      },
    });
    // Served, but missing from the policy table: refused, never run.
    edge.addService({
      definition: rawServiceDefinition(ProfileStoreService),
      implementation: {
        writeRaw: (_call: unknown, callback: sendUnaryData<Buffer>) => {
          handled++;
          callback(null, Buffer.alloc(0));
        },
      },
    });
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    target = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await edge.close(1000);
  });
  beforeEach(() => {
    ends.length = 0;
    decisions.length = 0;
    allowed.length = 0;
    handled = 0;
  });

  const call = (token: string, body = Buffer.from("panic")) => {
    const Ctor = makeGenericClientConstructor(rawServiceDefinition(TelemetryService), "T");
    const client = new Ctor(target, credentials.createInsecure()) as unknown as Client & {
      reportPanic(r: Buffer, m: Metadata, cb: (e: ServiceError | null, v?: Buffer) => void): void;
    };
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    metadata.set("projectid", "p");
    return new Promise<{ code: number; details: string; reply: string }>((resolve) =>
      client.reportPanic(body, metadata, (e, v) => {
        client.close();
        resolve({ code: e?.code ?? status.OK, details: e?.details ?? "", reply: v?.toString() ?? "" });
      }),
    );
  };

  it("lets an allowed call through to its handler with the decided context, decided once", async () => {
    expect(await call("good")).toEqual({ code: status.OK, details: "", reply: "sync" });
    expect(await call("slow-good")).toEqual({ code: status.OK, details: "", reply: "async" });
    expect(decisions.map((d) => [d.path, d.allowed, d.reason])).toEqual([
      [PATH, true, "allowed"],
      [PATH, true, "allowed"],
    ]);
    expect(allowed).toEqual(["sync", "async"]);
    expect(handled).toBe(2);
    expect(ends.map((e) => [e.code, e.messagesReceived, e.caller?.serviceAccountId])).toEqual([
      [status.OK, 1, "sync"],
      [status.OK, 1, "async"],
    ]);
  });

  it("refuses with the decision's status, counted and reported once, without running the handler", async () => {
    const body = Buffer.alloc(256 * 1024, 7);
    expect(await call("junk", body)).toEqual({
      code: status.UNAUTHENTICATED,
      details: "Invalid token: no such token.",
      reply: "",
    });
    expect(await call("slow-bad", body)).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(handled).toBe(0);
    expect(decisions.map((d) => [d.allowed, d.reason])).toEqual([
      [false, "unknown_token"],
      [false, "unknown_token"],
    ]);
    expect(ends).toHaveLength(2);
    for (const end of ends) {
      expect(end).toMatchObject({
        code: status.UNAUTHENTICATED,
        details: "Invalid token: no such token.",
        messagesReceived: 0,
        abandoned: false,
        caller: undefined,
      });
      expect(end.method.path).toBe(PATH);
      expect(end.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  /** Opens a stream with `token` and sends no body; resolves with what came back and how the stream ended. */
  const bodiless = (token: string, cancelAfterMs?: number) =>
    new Promise<{ grpcStatus: string | undefined; endStream: boolean; rstCode: number }>(
      (resolve, reject) => {
        const session = connect(`http://${target}`);
        session.on("error", reject);
        const stream = session.request(
          {
            ":method": "POST",
            ":path": PATH,
            "content-type": "application/grpc",
            te: "trailers",
            authorization: `Bearer ${token}`,
            projectid: "p",
          },
          { endStream: false },
        );
        let grpcStatus: string | undefined;
        let endStream = false;
        stream.on("response", (headers, flags) => {
          grpcStatus = headers["grpc-status"] as string | undefined;
          endStream = (flags & http2Constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        });
        stream.on("error", () => {});
        stream.on("close", () => {
          session.close();
          resolve({ grpcStatus, endStream, rstCode: stream.rstCode ?? -1 });
        });
        stream.resume();
        if (cancelAfterMs !== undefined)
          setTimeout(() => stream.close(http2Constants.NGHTTP2_CANCEL), cancelAfterMs);
      },
    );

  it("ends a refused stream at once, without waiting for the body the client has not sent", async () => {
    for (const token of ["junk", "slow-bad"]) {
      expect(await bodiless(token)).toEqual({
        grpcStatus: String(status.UNAUTHENTICATED),
        endStream: true,
        rstCode: http2Constants.NGHTTP2_CANCEL,
      });
    }
    expect(ends.map((e) => e.code)).toEqual([status.UNAUTHENTICATED, status.UNAUTHENTICATED]);
  });

  it("ends a call whose client left during the decision as cancelled and abandoned, and never runs it", async () => {
    const outcome = await bodiless("very-slow-good", 50);
    expect(outcome.grpcStatus).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(handled).toBe(0);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ code: status.CANCELLED, abandoned: true, caller: undefined });
  });

  it("refuses a served method that has no policy, without running it", async () => {
    const Ctor = makeGenericClientConstructor(rawServiceDefinition(ProfileStoreService), "P");
    const client = new Ctor(target, credentials.createInsecure()) as unknown as Client & {
      writeRaw(r: Buffer, m: Metadata, cb: (e: ServiceError | null) => void): void;
    };
    const metadata = new Metadata();
    metadata.set("authorization", "Bearer good");
    const code = await new Promise<number>((resolve) =>
      client.writeRaw(Buffer.from("x"), metadata, (e) => {
        client.close();
        resolve(e?.code ?? status.OK);
      }),
    );
    expect(code).toBe(status.INTERNAL);
    expect(handled).toBe(0);
    expect(ends.map((e) => e.code)).toEqual([status.INTERNAL]);
  });

  it("leaves public methods, unserved paths and non-gRPC requests to grpc-js", async () => {
    const session = connect(`http://${target}`);
    const ask = (headers: Record<string, string>) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const stream = session.request({ ":method": "POST", te: "trailers", ...headers });
        stream.on("response", (h) => resolve(h as Record<string, unknown>));
        stream.on("error", () => {});
        stream.end();
        stream.resume();
      });
    const unserved = await ask({ ":path": "/nope.Service/Nope", "content-type": "application/grpc" });
    expect(unserved["grpc-status"]).toBe(String(status.UNIMPLEMENTED));
    const notGrpc = await ask({ ":path": PATH, "content-type": "text/plain" });
    expect(notGrpc[":status"]).toBe(415);
    session.close();
    expect(decisions).toEqual([]);
  });
});
