import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Client,
  credentials,
  type Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type sendUnaryData,
  Server,
  ServerCredentials,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import {
  DebuginfoService,
  InitiateUploadResponseSchema,
  UploadInstructions_UploadStrategy,
  UploadResponseSchema,
} from "../../src/gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import {
  AgentsService,
  ProfileStoreService,
  WriteArrowRequestSchema,
  WriteResponseSchema,
} from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { rawServiceDefinition } from "../../src/rpc/raw-service-definition.js";
import { inProcessGateway } from "../support/in-process-gateway.js";
import { tempDir } from "../support/temp-dir.js";

const UPSTREAM_TOKEN = "upstream-secret-7f3a9c";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the spy upstream saw of one call. */
interface Seen {
  path: string;
  metadata: Record<string, unknown>;
  deadline: number;
  messages: Buffer[];
  cancelled: boolean;
}

type Behaviour = (
  call: Seen,
  respond: (error: { code: number; details: string } | null, bytes?: Buffer) => void,
) => void;

/**
 * A real gRPC server standing in for the upstream, speaking bytes like the edge: it records
 * every call (metadata, deadline, messages) and answers as the test tells it.
 */
class SpyUpstream {
  readonly server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  readonly calls: Seen[] = [];
  readonly behaviours = new Map<string, Behaviour>();
  port = 0;
  /** Milliseconds to wait after each Upload message before reading the next. */
  uploadDelayMs = 0;
  uploadReceived = 0;

  async start(): Promise<void> {
    for (const service of [ProfileStoreService, AgentsService, DebuginfoService, TelemetryService]) {
      const implementation: UntypedServiceImplementation = {};
      for (const method of service.methods) {
        const path = `/${service.typeName}/${method.name}`;
        implementation[method.localName] =
          method.methodKind === "unary"
            ? (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
                const seen = this.seen(path, call);
                seen.messages.push(call.request);
                this.behave(path, seen, callback);
              }
            : method.methodKind === "client_streaming"
              ? (call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
                  const seen = this.seen(path, call);
                  // Count what the server really took, not what grpc-js read ahead.
                  (
                    call as unknown as { _readableState: { highWaterMark: number } }
                  )._readableState.highWaterMark = 1;
                  call.on("data", (message: Buffer) => {
                    seen.messages.push(message);
                    this.uploadReceived++;
                    if (this.uploadDelayMs > 0) {
                      call.pause();
                      setTimeout(() => call.resume(), this.uploadDelayMs);
                    }
                  });
                  call.on("end", () => this.behave(path, seen, callback));
                }
              : (call: ServerDuplexStream<Buffer, Buffer>) => {
                  const seen = this.seen(path, call);
                  this.write(seen, call);
                };
      }
      this.server.addService(rawServiceDefinition(service), implementation);
    }
    this.port = await new Promise((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
  }

  last(path: string): Seen {
    const seen = this.calls.filter((c) => c.path.endsWith(path)).at(-1);
    if (!seen) throw new Error(`no call to ${path}`);
    return seen;
  }

  /** The Write exchange: answer the sample record with `wanted`, end after the next message. */
  private write(seen: Seen, call: ServerDuplexStream<Buffer, Buffer>) {
    call.on("data", (message: Buffer) => {
      seen.messages.push(message);
      const behaviour = this.behaviours.get("Write");
      if (behaviour) {
        behaviour(seen, (error, bytes) => {
          if (bytes) call.write(bytes);
          if (error) call.emit("error", error);
          else if (seen.messages.length === 2) call.end();
        });
      }
    });
  }

  private seen(
    path: string,
    call: { metadata: Metadata; getDeadline(): Date | number; on(e: string, f: () => void): void },
  ) {
    const deadline = call.getDeadline();
    const seen: Seen = {
      path,
      metadata: call.metadata.getMap(),
      deadline: deadline instanceof Date ? deadline.getTime() : deadline,
      messages: [],
      cancelled: false,
    };
    call.on("cancelled", () => {
      seen.cancelled = true;
    });
    this.calls.push(seen);
    return seen;
  }

  private behave(path: string, seen: Seen, callback: sendUnaryData<Buffer>) {
    const behaviour = this.behaviours.get(path.slice(path.lastIndexOf("/") + 1));
    if (!behaviour) return callback(null, Buffer.alloc(0));
    behaviour(seen, (error, bytes) => (error ? callback(error) : callback(null, bytes ?? Buffer.alloc(0))));
  }
}

function outcome(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  return promise.then(
    () => ({ code: status.OK, details: "" }),
    (error: { code: number; details: string }) => ({ code: error.code, details: error.details }),
  );
}

describe("forwarding to an upstream, as the upstream sees it", () => {
  const spy = new SpyUpstream();
  let edge: Awaited<ReturnType<typeof inProcessGateway>>;
  let pinnedEdge: Awaited<ReturnType<typeof inProcessGateway>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let agent: AgentClient;
  const PINNED = "0b4c5d6e-7f80-4912-a3b4-c5d6e7f80912";

  beforeAll(async () => {
    await spy.start();
    dir = await tempDir();
    const tokenFile = join(dir.path, "upstream.token");
    await writeFile(tokenFile, `${UPSTREAM_TOKEN}\n`);
    const common = [
      `--upstream-address=127.0.0.1:${spy.port}`,
      "--upstream-insecure",
      `--upstream-bearer-token-file=${tokenFile}`,
      "--upstream-timeout=1s",
    ];
    edge = await inProcessGateway([...common, "--upstream-grpc-headers=X-Scope=edge-1; x-tenant=acme"]);
    pinnedEdge = await inProcessGateway([...common, `--upstream-grpc-headers=projectID=${PINNED}`]);
    agent = new AgentClient(edge.target, {
      token: edge.boot.agentToken,
      projectId: edge.boot.projectId,
      headers: { "x-agent-secret": "do-not-forward" },
    });
  });
  afterAll(async () => {
    agent?.close();
    await edge?.close();
    await pinnedEdge?.close();
    spy.server.forceShutdown();
    await dir?.remove();
  });

  it("sends the gateway's credential, the configured headers and the caller's project; nothing of the agent's", async () => {
    const ipc = encodeArrowV2();
    await agent.writeArrow(ipc);
    const seen = spy.last("WriteArrow");
    expect(seen.metadata["authorization"]).toBe(`Bearer ${UPSTREAM_TOKEN}`);
    expect(seen.metadata["x-scope"]).toBe("edge-1");
    expect(seen.metadata["x-tenant"]).toBe("acme");
    expect(seen.metadata["projectid"]).toBe(edge.boot.projectId);
    expect(seen.metadata["x-agent-secret"]).toBeUndefined();
    expect(JSON.stringify(seen.metadata)).not.toContain(edge.boot.agentToken.slice(7));
    // The request went on as the agent's bytes.
    const forwarded = fromBinary(WriteArrowRequestSchema, seen.messages[0]!).ipcBuffer;
    expect(Buffer.from(forwarded).equals(Buffer.from(ipc))).toBe(true);

    const pinned = new AgentClient(pinnedEdge.target, {
      token: pinnedEdge.boot.agentToken,
      projectId: pinnedEdge.boot.projectId,
    });
    await pinned.reportPanic("boom");
    pinned.close();
    expect(spy.last("ReportPanic").metadata["projectid"]).toBe(PINNED);
  });

  it("passes the upstream's answers back untouched, signed-URL upload instructions included", async () => {
    const instructions = create(InitiateUploadResponseSchema, {
      uploadInstructions: {
        buildId: "abcdef",
        uploadId: "u-1",
        uploadStrategy: UploadInstructions_UploadStrategy.SIGNED_URL,
        signedUrl: "https://bucket.example/upload?sig=xyz",
      },
    });
    spy.behaviours.set("InitiateUpload", (_seen, respond) =>
      respond(null, Buffer.from(toBinary(InitiateUploadResponseSchema, instructions))),
    );
    const response = await agent.initiateUpload({ buildId: "abcdef", size: 10n, hash: "h" });
    expect(toBinary(InitiateUploadResponseSchema, response)).toEqual(
      toBinary(InitiateUploadResponseSchema, instructions),
    );
  });

  it("passes upstream statuses through, with the gateway's token scrubbed from the details", async () => {
    spy.behaviours.set("ShouldInitiateUpload", (_seen, respond) =>
      respond({
        code: status.PERMISSION_DENIED,
        details: `denied for ${UPSTREAM_TOKEN} psc_v1_${"a".repeat(64)}`,
      }),
    );
    const result = await outcome(agent.shouldInitiateUpload({ buildId: "abcdef" }));
    expect(result.code).toBe(status.PERMISSION_DENIED);
    expect(result.details).toBe("denied for [REDACTED] psc_v1_[REDACTED]");
  });

  it("propagates the agent's deadline and cancellation, and caps calls at --upstream-timeout", async () => {
    spy.behaviours.set("Agents", () => {});
    const started = Date.now();
    const short = await outcome(
      new Promise((resolve, reject) => {
        const client = new Client(edge.target, credentials.createInsecure());
        client.makeUnaryRequest(
          "/parca.profilestore.v1alpha1.AgentsService/Agents",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          agent.metadata(),
          { deadline: Date.now() + 300 },
          (error, response) => {
            client.close();
            error ? reject(error) : resolve(response);
          },
        );
      }),
    );
    expect(short.code).toBe(status.DEADLINE_EXCEEDED);
    const seen = spy.last("Agents");
    expect(seen.deadline).toBeGreaterThan(started);
    expect(seen.deadline).toBeLessThanOrEqual(started + 400);
    await sleep(100);
    expect(seen.cancelled).toBe(true);

    // No deadline from the agent: --upstream-timeout (1s) bounds the call, as a transport failure.
    const capped = await outcome(agent.agents());
    expect(capped.code).toBe(status.UNAVAILABLE);
    expect(capped.details).toMatch(/did not answer within/);
    expect(spy.last("Agents").deadline - Date.now()).toBeLessThan(1000);
  });

  it("pipes the Write exchange: the upstream asks, the agent answers, the upstream ends it", async () => {
    const wanted = Buffer.from(
      toBinary(WriteResponseSchema, create(WriteResponseSchema, { record: Buffer.from("ids") })),
    );
    spy.behaviours.set("Write", (seen, respond) =>
      respond(null, seen.messages.length === 1 ? wanted : undefined),
    );
    const sample = Buffer.from("sample-record");
    const result = await agent.write(sample, (w) => Buffer.concat([Buffer.from("locations-for:"), w]));
    const seen = spy.last("Write");
    expect(seen.messages.map((m) => m.length)).toEqual([sample.length + 2, expect.any(Number)]);
    expect(Buffer.from(result.wanted).toString()).toBe("ids");

    // The upstream ends the exchange with a refusal before answering: the agent still gets a
    // WriteResponse first (old agents crash without one), then the upstream's status.
    spy.behaviours.set("Write", (_seen, respond) =>
      respond({ code: status.INVALID_ARGUMENT, details: "bad sample" }),
    );
    const responses: Buffer[] = [];
    const ended = await new Promise<{ code: number; details: string }>((resolve) => {
      const client = new Client(edge.target, credentials.createInsecure());
      const call = client.makeBidiStreamRequest(
        "/parca.profilestore.v1alpha1.ProfileStoreService/Write",
        (b: Buffer) => b,
        (b: Buffer) => b,
        agent.metadata(),
      );
      call.on("data", (b: Buffer) => responses.push(b));
      call.on("error", () => {});
      call.on("status", (s) => {
        client.close();
        resolve(s);
      });
      call.write(Buffer.from([10, 3, 1, 2, 3]));
    });
    expect(ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: "bad sample" });
    expect(responses).toEqual([Buffer.alloc(0)]);
  });

  it("forwards Upload chunk by chunk, reading from the agent only as fast as the upstream takes it", async () => {
    const CHUNKS = 60;
    const CHUNK = 1024 * 1024;
    spy.uploadDelayMs = 10;
    spy.uploadReceived = 0;
    spy.behaviours.set("Upload", (seen, respond) =>
      respond(
        null,
        Buffer.from(
          toBinary(
            UploadResponseSchema,
            create(UploadResponseSchema, {
              buildId: "abcdef",
              size: BigInt((seen.messages.length - 1) * CHUNK),
            }),
          ),
        ),
      ),
    );
    let produced = 0;
    let lead = 0;
    function* chunks() {
      for (let i = 0; i < CHUNKS; i++) {
        lead = Math.max(lead, produced - spy.uploadReceived);
        produced++;
        yield Buffer.alloc(CHUNK, i);
      }
    }
    const response = await agent.upload({ buildId: "abcdef", uploadId: "u-1" }, chunks());
    spy.uploadDelayMs = 0;
    expect(response.size).toBe(BigInt(CHUNKS * CHUNK));
    const seen = spy.last("Upload");
    expect(seen.messages).toHaveLength(CHUNKS + 1);
    expect(seen.messages.slice(1).every((m) => m.length > CHUNK)).toBe(true);
    // Without backpressure the agent would be done long before the upstream: a lead of ~60.
    console.log(`upload backpressure: the agent was at most ${lead} chunks ahead of the upstream`);
    expect(lead).toBeLessThan(30);
  });

  it("applies the project's rate limit before forwarding, as in local mode", async () => {
    const limited = await inProcessGateway([
      `--upstream-address=127.0.0.1:${spy.port}`,
      "--upstream-insecure",
      "--rate-limit-bytes-per-second=1KiB",
      "--rate-limit-burst-bytes=64KiB",
    ]);
    const c = new AgentClient(limited.target, {
      token: limited.boot.agentToken,
      projectId: limited.boot.projectId,
    });
    try {
      const before = spy.calls.length;
      expect((await outcome(c.writeArrow(encodeArrowV2({ payloadBytes: 40 * 1024 })))).code).toBe(status.OK);
      const second = await outcome(c.writeArrow(encodeArrowV2({ payloadBytes: 40 * 1024 })));
      expect(second.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(second.details).toMatch(/rate limit/);
      expect(spy.calls.length).toBe(before + 1);
    } finally {
      c.close();
      await limited.close();
    }
  });

  it("turns an unreachable upstream into UNAVAILABLE", async () => {
    spy.server.forceShutdown();
    const result = await outcome(agent.writeArrow(encodeArrowV2()));
    expect(result.code).toBe(status.UNAVAILABLE);
    expect(result.details).toMatch(/upstream profile store .* retry later/);
  });
});
