import { createServer, type Server as NetServer } from "node:net";
import { gzipSync } from "node:zlib";
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptZstd } from "../../src/edge/grpc-internals.js";
import { zstdCompression } from "../../src/loadgen/zstd-compression.js";
import { H2UnaryConnection } from "../../src/rpc/h2-unary.js";

const PATH = "/test.Echo/Call";
const bytes = (b: Buffer) => b;

/** A real grpc-js server whose one method answers according to the request's text. */
async function startServer(): Promise<{ server: Server; target: string; seen: string[] }> {
  const seen: string[] = [];
  const server = new Server();
  server.addService(
    {
      Call: {
        path: PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: bytes,
        requestDeserialize: bytes,
        responseSerialize: bytes,
        responseDeserialize: bytes,
      },
    },
    {
      Call(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) {
        const text = call.request.toString();
        seen.push(`${text} ${String(call.metadata.get("authorization")[0])} ${call.request.byteLength}`);
        if (text === "refuse") callback({ code: status.PERMISSION_DENIED, details: "no: 100% refused" });
        else if (text === "hang") setTimeout(() => callback(null, Buffer.alloc(0)), 2000);
        else callback(null, Buffer.from("ok"));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, target: `127.0.0.1:${port}`, seen };
}

describe("the lean HTTP/2 unary client (upstream forwarding, the load generator) against a grpc-js server", () => {
  let running: Awaited<ReturnType<typeof startServer>>;
  let connection: H2UnaryConnection;

  beforeAll(async () => {
    running = await startServer();
    connection = new H2UnaryConnection({ target: running.target });
    await connection.connect(2000);
  });
  afterAll(async () => {
    connection?.close();
    await new Promise<void>((done) => running.server.tryShutdown(() => done()));
  });

  it("delivers the message whole with its metadata, over one connection, and reads OK", async () => {
    const big = Buffer.alloc(200_000, "a");
    const outcomes = await Promise.all([
      connection.unary(PATH, { authorization: "Bearer one" }, Buffer.from("hello"), 5000),
      connection.unary(PATH, { authorization: "Bearer two" }, big, 5000),
    ]);
    expect(outcomes.map((o) => o.code)).toEqual([status.OK, status.OK]);
    expect(outcomes.map((o) => o.response?.toString())).toEqual(["ok", "ok"]);
    expect(running.seen).toContain("hello Bearer one 5");
    expect(running.seen).toContain(`${"a".repeat(200_000)} Bearer two 200000`);
  });

  it("compresses each message with the encoding it names, gzip and zstd, which the server decodes", async () => {
    // The edge's zstd decoding of grpc-js calls, installed once per process.
    acceptZstd();
    const text = "compressible ".repeat(5000);
    for (const compression of [
      { name: "gzip", compress: (m: Uint8Array) => gzipSync(m) },
      await zstdCompression(),
    ]) {
      const compressed = new H2UnaryConnection({ target: running.target, compression });
      try {
        const outcome = await compressed.unary(
          PATH,
          { authorization: compression.name },
          Buffer.from(text),
          5000,
        );
        expect(outcome.code, outcome.details).toBe(status.OK);
        expect(running.seen).toContain(`${text} ${compression.name} ${text.length}`);
      } finally {
        compressed.close();
      }
    }
  });

  it("reads a refusal's code and its percent-encoded message", async () => {
    expect(await connection.unary(PATH, {}, Buffer.from("refuse"), 5000)).toEqual({
      code: status.PERMISSION_DENIED,
      details: "no: 100% refused",
    });
  });

  it("cancels a call when its signal aborts, and the connection still works", async () => {
    const abort = new AbortController();
    const pending = connection.unary(PATH, {}, Buffer.from("hang"), 5000, abort.signal);
    setTimeout(() => abort.abort(), 50);
    expect((await pending).code).toBe(status.CANCELLED);
    expect((await connection.unary(PATH, {}, Buffer.from("again"), 5000)).code).toBe(status.OK);
  });

  it("gives up at the deadline with DEADLINE_EXCEEDED, and the connection still works", async () => {
    const outcome = await connection.unary(PATH, {}, Buffer.from("hang"), 200);
    expect(outcome.code).toBe(status.DEADLINE_EXCEEDED);
    expect((await connection.unary(PATH, {}, Buffer.from("again"), 5000)).code).toBe(status.OK);
  });

  it("reports UNAVAILABLE on every call while nothing listens at the address", async () => {
    const probe: NetServer = createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, "127.0.0.1", () => resolve((probe.address() as { port: number }).port)),
    );
    await new Promise<void>((done) => probe.close(() => done()));
    const nobody = new H2UnaryConnection({
      target: `127.0.0.1:${port}`,
      initialBackoffMs: 50,
      maxBackoffMs: 100,
    });
    try {
      for (let i = 0; i < 2; i++) {
        const outcome = await nobody.unary(PATH, {}, Buffer.from("x"), 2000);
        expect(outcome).toEqual({
          code: status.UNAVAILABLE,
          details: expect.stringMatching(/^No connection established/),
        });
      }
      expect(nobody.state).toBe("TRANSIENT_FAILURE");
      // Something listens there again: the connection recovers in the background, before any call.
      const back = new Server();
      await new Promise<void>((resolve, reject) =>
        back.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e) =>
          e ? reject(e) : resolve(),
        ),
      );
      try {
        for (let i = 0; i < 100 && nobody.state !== "READY"; i++) await new Promise((r) => setTimeout(r, 20));
        expect(nobody.state).toBe("READY");
        expect((await nobody.unary(PATH, {}, Buffer.from("x"), 2000)).code).toBe(status.UNIMPLEMENTED);
      } finally {
        back.forceShutdown();
      }
    } finally {
      nobody.close();
    }
  });
});
