import { createServer, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { parseHostPort } from "../../config/flag-spec.js";
import { serveReceiveWindows } from "./gateway-listener.js";

/** One empty gRPC message: uncompressed, zero length. */
const EMPTY_MESSAGE = Buffer.alloc(5);

/** The bytes of the one message a unary request carries, from its length-prefixed frame. */
function messageOf(chunks: Buffer[], total: number): Buffer | undefined {
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  if (body.length < 5) return undefined;
  const length = body.readUInt32BE(1);
  return body.length === 5 + length ? body.subarray(5) : undefined;
}

function serve(stream: ServerHttp2Stream): void {
  const chunks: Buffer[] = [];
  let total = 0;
  stream.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  stream.on("error", () => {});
  stream.on("end", () => {
    if (stream.destroyed) return;
    const ok = messageOf(chunks, total) !== undefined;
    stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
    stream.once("wantTrailers", () =>
      stream.sendTrailers(ok ? { "grpc-status": "0" } : { "grpc-status": "3", "grpc-message": "bad frame" }),
    );
    stream.end(ok ? EMPTY_MESSAGE : undefined);
  });
}

/**
 * The HTTP/2 floor of the whole-path benchmark: Node's own HTTP/2 server answering unary gRPC
 * calls without grpc-js. It assembles each request's one message from its DATA frames, discards
 * it, and answers an empty message and an OK status, with `serve`'s receive windows. What the
 * bare grpc-js server costs above it is grpc-js's own per-call work, which every gateway built on
 * grpc-js pays.
 *
 * `node dist/bench/servers/raw-h2-server.js [--grpc-address 127.0.0.1:0]`
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "grpc-address": { type: "string", default: "127.0.0.1:0" },
      // Accepted like every bench server's; nothing is stored.
      "data-dir": { type: "string" },
    },
  });
  const { streamBytes, connectionBytes } = serveReceiveWindows();
  const server = createServer({ settings: { initialWindowSize: streamBytes } });
  server.on("session", (session) => session.setLocalWindowSize(connectionBytes));
  server.on("stream", serve);
  const { host, port } = parseHostPort(values["grpc-address"]);
  await new Promise<void>((listening) => server.listen(port, host, listening));
  const bound = server.address() as AddressInfo;
  process.stdout.write(
    `${JSON.stringify({ grpcAddress: `${host}:${bound.port}`, msg: "profgate is listening" })}\n`,
  );
  const stop = () => server.close();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

await main();
