import { randomBytes } from "node:crypto";
import { type ClientHttp2Session, connect } from "node:http2";
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
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { authContextOf } from "../../src/auth/call-context.js";
import type { MethodPolicy } from "../../src/auth/method-policies.js";
import type { AuthContext } from "../../src/auth/principal.js";
import { createEdge, type Edge } from "../../src/edge/create-edge.js";
import { type MemoryGuard, memoryGuard } from "../../src/edge/guards/memory-guard.js";
import { PendingBytes } from "../../src/edge/guards/pending-bytes.js";
import { DomainError } from "../../src/errors.js";
import { ProfileStoreService } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import type { CallEnd } from "../../src/rpc/call-events.js";
import { rawServiceDefinition } from "../../src/rpc/raw-service-definition.js";

const PATH = `/${ProfileStoreService.typeName}/WriteArrow`;
const LIMIT = 256 * 1024;
const POLICY: MethodPolicy = {
  permission: "profile.write",
  project: true,
  admitted: true,
  maxMessageBytes: LIMIT,
};
const CONTEXT: AuthContext = {
  organizationId: "org",
  serviceAccountId: "agent",
  tokenId: "t",
  tokenHash: "h",
  grants: [],
  installationOwner: false,
  projectId: "p",
};

/** The HTTP/2 request of a call as an agent sends it. */
const REQUEST_HEADERS = {
  ":method": "POST",
  ":path": PATH,
  "content-type": "application/grpc",
  te: "trailers",
  authorization: "Bearer any",
  projectid: "p",
};

/** What the handler is told to do by the first byte of the request. */
const OK = 1;
const REFUSE = 2;
const FAULT = 3;
const HANG = 4;
const ADMISSION_REFUSED = 5;

interface Outcome {
  code: number;
  details: string;
  reply: string;
}

/**
 * The unary lane serves allowed, uncompressed calls of admitted unary methods on their HTTP/2
 * streams without grpc-js (edge/unary-lane.ts); a gzip call of the same method still goes
 * through grpc-js. Every case is run both ways: a client must not be able to tell them apart.
 */
describe("the edge's unary lane", () => {
  let edge: Edge;
  let target = "";
  const ends: CallEnd[] = [];
  const cancelled: string[] = [];
  const admissionRefusals: string[] = [];
  let shedding = false;
  const pending = new PendingBytes({ perConnectionBytes: 0, perAddressBytes: 0, totalBytes: 0 });

  let memory: MemoryGuard;

  beforeAll(async () => {
    memory = memoryGuard({
      softLimitBytes: 1,
      guarded: (path) => path === PATH,
      sampleMs: 10,
      measure: () => (shedding ? 2 : 0),
    });
    edge = createEdge({
      policyFor: (path) => (path === PATH ? POLICY : undefined),
      decide: () => CONTEXT,
      admit: (_context, bytes) => {
        if (bytes === 7)
          return Promise.reject(new DomainError("resource_exhausted", "Over the project's limit.", "rate"));
        return undefined;
      },
      observers: [{ forMethod: () => ({ ended: (end) => ends.push(end) }) }],
      guards: { memory, pending },
      hooks: { onAdmissionRefused: (_path, reason) => admissionRefusals.push(reason) },
      transport: { maxReceiveBytes: 4 * 1024 * 1024 },
    });
    edge.addService({
      definition: rawServiceDefinition(ProfileStoreService),
      implementation: {
        writeArrow: (
          call: { request: Buffer; metadata: Metadata; on(e: string, f: () => void): void },
          callback: sendUnaryData<Buffer>,
        ) => {
          const who = authContextOf(call).serviceAccountId;
          call.on("cancelled", () => cancelled.push(who));
          switch (call.request[0]) {
            case OK:
              callback(null, Buffer.from(`${who}:${call.request.length}`));
              return;
            case REFUSE:
              callback(
                new DomainError("invalid_argument", "The payload is not an Arrow stream.", "bad_arrow"),
              );
              return;
            case FAULT:
              callback(new Error("disk on fire"));
              return;
            case HANG:
              return;
            default:
              callback(null, Buffer.alloc(0));
          }
        },
      },
    });
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    target = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    memory.close();
    await edge.close(1000);
  });
  afterEach(async () => {
    ends.length = 0;
    cancelled.length = 0;
    admissionRefusals.length = 0;
    shedding = false;
    Object.assign(pending.bounds, { perConnectionBytes: 0 });
    // The guard samples memory every 10 ms: the next case starts once it has seen the change.
    await expect.poll(() => memory.pressed).toBe(false);
  });

  type Compression = "identity" | "gzip";
  const call = (compression: Compression, body: Buffer, deadlineMs = 10_000) => {
    const Ctor = makeGenericClientConstructor(rawServiceDefinition(ProfileStoreService), "P");
    const client = new Ctor(target, credentials.createInsecure(), {
      ...(compression === "gzip" ? { "grpc.default_compression_algorithm": 2 } : {}),
    }) as unknown as Client & {
      writeArrow(
        r: Buffer,
        m: Metadata,
        o: { deadline: number },
        cb: (e: ServiceError | null, v?: Buffer) => void,
      ): void;
    };
    const metadata = new Metadata();
    metadata.set("authorization", "Bearer any");
    metadata.set("projectid", "p");
    return new Promise<Outcome>((resolve) =>
      client.writeArrow(body, metadata, { deadline: Date.now() + deadlineMs }, (e, v) => {
        client.close();
        resolve({ code: e?.code ?? status.OK, details: e?.details ?? "", reply: v?.toString() ?? "" });
      }),
    );
  };
  const payload = (kind: number, bytes = 1000) => {
    const body = randomBytes(bytes);
    body[0] = kind;
    return body;
  };
  const bothWays = async (body: Buffer, deadlineMs?: number) => {
    const lane = await call("identity", body, deadlineMs);
    const laneEnds = ends.splice(0);
    const grpc = await call("gzip", body, deadlineMs);
    const grpcEnds = ends.splice(0);
    return { lane, grpc, laneEnds, grpcEnds };
  };

  it("answers an allowed call with its handler's response, and reports it once with its caller and bytes", async () => {
    const { lane, grpc, laneEnds, grpcEnds } = await bothWays(payload(OK, 64 * 1024));
    expect(lane).toEqual({ code: status.OK, details: "", reply: `agent:${64 * 1024}` });
    expect(grpc).toEqual(lane);
    for (const e of [laneEnds, grpcEnds]) {
      expect(e.map((end) => [end.code, end.messagesReceived, end.messagesSent, end.abandoned])).toEqual([
        [status.OK, 1, 1, false],
      ]);
      expect(e[0]?.caller).toMatchObject({ serviceAccountId: "agent", projectId: "p", tokenId: "t" });
      expect(e[0]?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    // What the wire carried: the identity call's 64 KiB exactly (the gzip call's bytes are decoded).
    expect(laneEnds[0]?.bytesReceived).toBe(64 * 1024);
    expect(grpcEnds[0]?.bytesReceived).toBe(64 * 1024);
  });

  it("maps a handler's refusal and an unexpected fault to the same statuses as grpc-js's path", async () => {
    // On the lane, a handler that answered is not told its call was cancelled.
    expect((await call("identity", payload(REFUSE))).code).toBe(status.INVALID_ARGUMENT);
    expect(cancelled).toEqual([]);
    ends.length = 0;
    const refused = await bothWays(payload(REFUSE));
    expect(refused.lane).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "The payload is not an Arrow stream.",
      reply: "",
    });
    expect(refused.grpc).toEqual(refused.lane);
    const fault = await bothWays(payload(FAULT));
    expect(fault.lane.code).toBe(status.INTERNAL);
    expect(fault.lane.details).not.toContain("disk on fire");
    expect(fault.grpc).toEqual(fault.lane);
  });

  it("refuses a message above the method's limit at its length prefix with INVALID_ARGUMENT naming the limit", async () => {
    const { lane, grpc } = await bothWays(payload(OK, LIMIT + 1));
    expect(lane).toEqual({
      code: status.INVALID_ARGUMENT,
      details: `The message of ${LIMIT + 1} bytes is larger than the gateway's limit of ${LIMIT} bytes; send smaller batches.`,
      reply: "",
    });
    // Random bytes do not compress: the gzip message announces more than the limit too.
    expect(grpc.code).toBe(status.INVALID_ARGUMENT);
    expect(grpc.details).toMatch(/is larger than the gateway's limit of 262144 bytes/);
  });

  it("refuses what admission refuses, telling the hook, without running the handler", async () => {
    const { lane, grpc } = await bothWays(payload(ADMISSION_REFUSED, 7));
    expect(lane).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      details: "Over the project's limit.",
      reply: "",
    });
    expect(grpc).toEqual(lane);
    expect(admissionRefusals).toEqual(["rate", "rate"]);
  });

  it("ends a call past its deadline as DEADLINE_EXCEEDED and tells the handler it was cancelled", async () => {
    const { lane, grpc, laneEnds, grpcEnds } = await bothWays(payload(HANG), 300);
    expect(lane.code).toBe(status.DEADLINE_EXCEEDED);
    expect(grpc.code).toBe(status.DEADLINE_EXCEEDED);
    await expect.poll(() => cancelled.length).toBe(2);
    await expect.poll(() => laneEnds.length + grpcEnds.length + ends.length).toBeGreaterThanOrEqual(2);
    const all = [...laneEnds, ...grpcEnds, ...ends];
    expect(all.map((e) => e.code)).toEqual([status.DEADLINE_EXCEEDED, status.DEADLINE_EXCEEDED]);
    expect(all.every((e) => e.messagesReceived === 1 && !e.abandoned)).toBe(true);
  });

  it("sheds new calls while memory is short, with UNAVAILABLE", async () => {
    shedding = true;
    await expect.poll(() => memory.pressed).toBe(true);
    const { lane, grpc } = await bothWays(payload(OK));
    expect(lane).toEqual({
      code: status.UNAVAILABLE,
      details: "The gateway is low on memory and sheds new calls; retry shortly.",
      reply: "",
    });
    expect(grpc).toEqual(lane);
  });

  it("refuses a call whose incomplete message passes the per-connection bound, naming the flag", async () => {
    Object.assign(pending.bounds, { perConnectionBytes: 16 * 1024 });
    const { lane, grpc } = await bothWays(payload(OK, 200 * 1024));
    expect(lane.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(lane.details).toContain("--max-pending-bytes-per-connection");
    expect(grpc).toEqual(lane);
    expect(pending.pending).toBe(0);
  });

  /** A raw HTTP/2 call: frames as given, then the end of the stream. */
  const raw = (frames: Buffer[], options: { session?: ClientHttp2Session; cancelAfterMs?: number } = {}) =>
    new Promise<{ grpcStatus: string | undefined; grpcMessage: string }>((resolve, reject) => {
      const session = options.session ?? connect(`http://${target}`);
      session.on("error", reject);
      const stream = session.request(REQUEST_HEADERS);
      let grpcStatus: string | undefined;
      let grpcMessage = "";
      const take = (headers: Record<string, unknown>) => {
        if (headers["grpc-status"] !== undefined) {
          grpcStatus = String(headers["grpc-status"]);
          grpcMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
        }
      };
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("error", () => {});
      stream.resume();
      stream.on("close", () => {
        if (!options.session) session.close();
        resolve({ grpcStatus, grpcMessage });
      });
      if (options.cancelAfterMs !== undefined) {
        for (const frame of frames) stream.write(frame);
        // A reset alone, as a Go client cancels (Node's close() would half-close first).
        setTimeout(() => stream.destroy(), options.cancelAfterMs);
      } else {
        for (const frame of frames) stream.write(frame);
        stream.end();
      }
    });
  const frame = (body: Buffer, compressed = 0) => {
    const head = Buffer.alloc(5);
    head[0] = compressed;
    head.writeUInt32BE(body.length, 1);
    return Buffer.concat([head, body]);
  };

  it("refuses a call with no message, two messages, or a compressed flag without an encoding, with INVALID_ARGUMENT", async () => {
    expect(await raw([])).toEqual({
      grpcStatus: String(status.INVALID_ARGUMENT),
      grpcMessage: `${PATH} takes exactly one request message; the call ended without one.`,
    });
    expect(await raw([frame(payload(OK)).subarray(0, 300)])).toMatchObject({
      grpcStatus: String(status.INVALID_ARGUMENT),
    });
    expect(await raw([frame(payload(OK)), frame(payload(OK))])).toEqual({
      grpcStatus: String(status.INVALID_ARGUMENT),
      grpcMessage: `${PATH} takes exactly one request message; the call sent more.`,
    });
    expect(await raw([frame(payload(OK), 1)])).toEqual({
      grpcStatus: String(status.INVALID_ARGUMENT),
      grpcMessage: "The message is marked compressed, but the call names no grpc-encoding.",
    });
    expect(ends.map((e) => [e.code, e.abandoned])).toEqual([
      [status.INVALID_ARGUMENT, true],
      [status.INVALID_ARGUMENT, true],
      [status.INVALID_ARGUMENT, false],
      [status.INVALID_ARGUMENT, false],
    ]);
    // A frame split at any byte is assembled: the prefix itself in two halves.
    const whole = frame(payload(OK, 5000));
    expect(await raw([whole.subarray(0, 3), whole.subarray(3, 2000), whole.subarray(2000)])).toMatchObject({
      grpcStatus: "0",
    });
  });

  it("ends a call its client cancels as CANCELLED, abandoned when no message had arrived", async () => {
    await raw([frame(payload(OK, 100_000)).subarray(0, 50_000)], { cancelAfterMs: 100 });
    await raw([frame(payload(HANG))], { cancelAfterMs: 100 });
    await expect.poll(() => ends.length).toBe(2);
    expect(ends.map((e) => [e.code, e.messagesReceived, e.abandoned])).toEqual([
      [status.CANCELLED, 0, true],
      [status.CANCELLED, 1, false],
    ]);
    expect(cancelled).toEqual(["agent"]);
    expect(pending.pending).toBe(0);
  });
});

/** grpc-js closes a connection with no call for its idle time; a call on the lane is a call. */
describe("the unary lane and the connection idle timer", () => {
  it("keeps a connection open while its only call is on the lane", async () => {
    const edge = createEdge({
      policyFor: (path) => (path === PATH ? POLICY : undefined),
      decide: () => CONTEXT,
      transport: { maxConnectionIdleMs: 300 },
    });
    edge.addService({
      definition: rawServiceDefinition(ProfileStoreService),
      implementation: {
        writeArrow: (_call: unknown, callback: sendUnaryData<Buffer>) =>
          setTimeout(() => callback(null, Buffer.alloc(0)), 1000),
      },
    });
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    const session = connect(`http://127.0.0.1:${port}`);
    let goaway = false;
    session.on("goaway", () => {
      goaway = true;
    });
    try {
      const outcome = await new Promise<string | undefined>((resolve) => {
        const stream = session.request(REQUEST_HEADERS);
        stream.on("trailers", (t) => resolve(String(t["grpc-status"])));
        stream.on("close", () => resolve(undefined));
        stream.resume();
        const head = Buffer.from([0, 0, 0, 0, 3]);
        stream.end(Buffer.concat([head, Buffer.from([OK, 2, 3])]));
      });
      expect(outcome).toBe("0");
      expect(goaway).toBe(false);
    } finally {
      session.close();
      await edge.close(1000);
    }
  });
});
