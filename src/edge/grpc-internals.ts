import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import {
  constants as http2Constants,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { Readable } from "node:stream";
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { decompressZstd, ZstdError } from "./zstd.js";

/**
 * Every place where profgate relies on grpc-js beyond its documented API, in one file. Each has
 * a check that `checkGrpcInternals` runs when an edge is created, so that a grpc-js upgrade that
 * moves one of them fails the start loudly instead of silently serving without it, and a test
 * of its own (test/integration/edge-grpc-internals.test.ts). Where grpc-js offers a public route it is
 * used instead, and named here:
 *
 * - connections are handed to grpc-js through `Server.createConnectionInjector` (public);
 * - the front gate sees each HTTP/2 stream first: grpc-js's one `stream` listener on the HTTP/2
 *   server it creates (`http2Servers`) is moved behind it (`withStreamFront`);
 * - a call served without grpc-js (edge/unary-lane.ts) is counted by grpc-js's connection idle
 *   timer through its `onStreamOpened` (`streamOpenedCounter`);
 * - zstd messages are decoded by wrapping the base call's `decompressMessage` (grpc-js knows
 *   identity, deflate and gzip only);
 * - TLS certificates are replaced through `ServerCredentials`' protected
 *   `updateSecureContextOptions`, the route grpc-js's own certificate providers take; the
 *   providers themselves cannot require TLS 1.3 nor keep the previous certificate when a renewed
 *   file does not load (edge/tls-credentials.ts);
 * - a client stream's read-ahead is lowered through its Readable's `_readableState`
 *   (`limitReadAhead` says why no public setting does it).
 */

interface StatusLike {
  code: number;
  details: string;
}

interface GrpcModules {
  sendStatusOwner: { prototype: { sendStatus(s: StatusLike): void } } | undefined;
}

function grpcModules(): GrpcModules {
  const require = createRequire(import.meta.url);
  const interceptors = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
    BaseServerInterceptingCall?: GrpcModules["sendStatusOwner"];
  };
  return { sendStatusOwner: interceptors.BaseServerInterceptingCall };
}

/** The private fields of a grpc-js `Server` that the receive windows need. */
interface ServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<EventEmitter, unknown>;
}

/** What the client of a message of `size` bytes above the limit of `limit` bytes is told. */
export function oversizeDetails(size: number, limit: number): string {
  return `The message of ${size} bytes is larger than the gateway's limit of ${limit} bytes; send smaller batches.`;
}

/** grpc-js's own refusals of an oversized message, before (length prefix) and after decompression. */
const OVERSIZE = /^Received message larger than max \((\d+) vs\.? (\d+)\)/;
const OVERSIZE_DECOMPRESSED = /^Received message that decompresses to a size larger than (\d+)/;

/**
 * The refusal of a message above the receive limit as INVALID_ARGUMENT naming the limit of the
 * server that refused it, or undefined for any other status. parca-agent retries
 * RESOURCE_EXHAUSTED ten times, and resending a payload that is simply too large can never
 * succeed (docs/wire-contract.md).
 */
export function oversizeRefusal(s: StatusLike): StatusLike | undefined {
  if (s.code !== status.RESOURCE_EXHAUSTED) return undefined;
  const plain = OVERSIZE.exec(s.details);
  const decompressed = plain ? undefined : OVERSIZE_DECOMPRESSED.exec(s.details);
  if (!plain && !decompressed) return undefined;
  const details = plain
    ? oversizeDetails(Number(plain[1]), Number(plain[2]))
    : `The message decompresses to more than the gateway's limit of ${decompressed?.[1]} bytes; send smaller batches.`;
  return { ...s, code: status.INVALID_ARGUMENT, details };
}

let oversizeInstalled = false;

/**
 * grpc-js sends its oversize status from its base call, below every interceptor, as soon as a
 * message's length prefix (or its decompressed size) exceeds the limit; nothing is buffered. The
 * only place to change the code is that class's `sendStatus`, wrapped once per process.
 */
export function refuseOversizeWithInvalidArgument(): void {
  if (oversizeInstalled) return;
  const prototype = grpcModules().sendStatusOwner?.prototype;
  if (!prototype) throw new Error("grpc-js internals changed: BaseServerInterceptingCall not found");
  oversizeInstalled = true;
  const original = prototype.sendStatus;
  prototype.sendStatus = function sendStatus(this: unknown, s: StatusLike) {
    return original.call(this, oversizeRefusal(s) ?? s);
  };
}

/** HTTP/2 flow-control windows for what clients send: per stream, and per connection. */
export interface ReceiveWindows {
  streamBytes: number;
  connectionBytes: number;
}

/**
 * grpc-js 1.14 has no option for HTTP/2 receive windows (grpc-node #3058 adds one). The stream
 * window is a setting grpc-js passes to every HTTP/2 server it creates (`commonServerOptions`),
 * and the connection window is set on each session of the server `create` adds (`http2Servers`).
 */
export function withReceiveWindows<T>(server: Server, windows: ReceiveWindows, create: () => T): T {
  const common = (server as unknown as ServerInternals).commonServerOptions;
  if (typeof common !== "object") {
    throw new Error(
      "this grpc-js version does not expose its HTTP/2 server options: receive windows cannot be set",
    );
  }
  common.settings = { ...common.settings, initialWindowSize: windows.streamBytes };
  return onNewHttp2Servers(server, "receive windows", create, (http2Server) =>
    http2Server.on("session", (session: ServerHttp2Session) => {
      if (!session.destroyed) session.setLocalWindowSize(windows.connectionBytes);
    }),
  );
}

/** Runs `create`, then `each` on every HTTP/2 server it added to `server` (`http2Servers`). */
function onNewHttp2Servers<T>(
  server: Server,
  what: string,
  create: () => T,
  each: (http2Server: EventEmitter) => void,
): T {
  const servers = (server as unknown as ServerInternals).http2Servers;
  if (!(servers instanceof Map)) {
    throw new Error(`this grpc-js version does not expose its HTTP/2 servers: ${what} cannot be set`);
  }
  const before = new Set(servers.keys());
  const created = create();
  for (const http2Server of servers.keys()) if (!before.has(http2Server)) each(http2Server);
  return created;
}

/** Decides what becomes of each new HTTP/2 stream; `pass` hands it to grpc-js. */
export type StreamFrontHandler = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  pass: () => void,
) => void;

/**
 * Puts `front` before grpc-js on the HTTP/2 servers that `create` adds to `server`: grpc-js
 * handles a stream through its one `stream` listener on each (`http2Servers`), which is moved
 * behind `front`.
 */
export function withStreamFront<T>(server: Server, front: StreamFrontHandler, create: () => T): T {
  return onNewHttp2Servers(server, "the front gate", create, (http2Server) => {
    const listeners = http2Server.listeners("stream") as Array<(...args: unknown[]) => void>;
    const grpcHandler = listeners[0];
    if (listeners.length !== 1 || grpcHandler === undefined) {
      throw new Error(
        `grpc-js internals changed: ${listeners.length} stream listeners on its HTTP/2 server, not 1`,
      );
    }
    http2Server.removeListener("stream", grpcHandler);
    http2Server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) =>
      front(stream, headers, () => grpcHandler(stream, headers, ...rest)),
    );
  });
}

/**
 * grpc-js closes a connection that has had no call for `grpc.max_connection_idle_ms`, counting
 * the streams its own handler opened (`onStreamOpened`). A call the edge serves without grpc-js
 * (edge/unary-lane.ts) is counted the same way through this, so that a busy connection is not
 * taken for an idle one.
 */
export function streamOpenedCounter(server: Server): (stream: ServerHttp2Stream) => void {
  const opened = (server as unknown as { onStreamOpened?: (stream: ServerHttp2Stream) => void })
    .onStreamOpened;
  if (typeof opened !== "function")
    throw new Error("grpc-js internals changed: Server.onStreamOpened (connection idle timer) not found");
  return (stream) => opened.call(server, stream);
}

/** The HTTP/2 stream of grpc-js's base call (the first interceptor's `next`). */
export function streamOf(call: unknown): unknown {
  return (call as { stream?: unknown }).stream;
}

/**
 * grpc-js reads up to 16 messages ahead into a server stream's buffer even while it is paused
 * (its streams are object-mode Readables with the default high-water mark, and it offers no
 * option); with upload chunks of up to 8 MiB that is 128 MiB per call. This lowers the
 * high-water mark of one stream to `messages`. There is no public route: the call's own read
 * gating is that stream's `_read` (one `startRead` of the base call per message), which Node
 * calls until the buffer holds the high-water mark fixed when grpc-js constructed the stream, and
 * the only public setting of it, `stream.setDefaultHighWaterMark`, would change every object-mode
 * stream of the process.
 */
export function limitReadAhead(stream: Readable, messages: number): void {
  const state = (stream as unknown as { _readableState?: { highWaterMark?: unknown } })._readableState;
  if (state && typeof state.highWaterMark === "number") state.highWaterMark = messages;
}

let checked = false;

/**
 * Checks, once per process, that every internal above is where this file expects it; throws an
 * error naming the one that moved.
 */
export function checkGrpcInternals(): void {
  if (checked) return;
  const problems: string[] = [];
  const base = grpcModules().sendStatusOwner?.prototype as { decompressMessage?: unknown } | undefined;
  if (typeof grpcModules().sendStatusOwner?.prototype.sendStatus !== "function")
    problems.push("BaseServerInterceptingCall.prototype.sendStatus (oversize refusals)");
  if (typeof base?.decompressMessage !== "function")
    problems.push("BaseServerInterceptingCall.prototype.decompressMessage (zstd)");
  const probe = new Server() as unknown as ServerInternals & { createConnectionInjector?: unknown };
  if (typeof probe.commonServerOptions !== "object" || !(probe.http2Servers instanceof Map))
    problems.push("Server.commonServerOptions / http2Servers (HTTP/2 receive windows)");
  if (typeof probe.createConnectionInjector !== "function")
    problems.push("Server.createConnectionInjector (the gated listener)");
  if (typeof (probe as { onStreamOpened?: unknown }).onStreamOpened !== "function")
    problems.push("Server.onStreamOpened (the idle timer of connections whose calls take the unary lane)");
  const credentials = ServerCredentials.prototype as unknown as { updateSecureContextOptions?: unknown };
  if (typeof credentials.updateSecureContextOptions !== "function")
    problems.push("ServerCredentials.updateSecureContextOptions (TLS reload)");
  const readable = new Readable({ objectMode: true, read() {} });
  const state = (readable as unknown as { _readableState?: { highWaterMark?: unknown } })._readableState;
  if (typeof state?.highWaterMark !== "number")
    problems.push("Readable._readableState.highWaterMark (upload read-ahead)");
  const decoder = decoderProblem();
  if (decoder) problems.push(decoder);
  if (problems.length > 0) {
    throw new Error(
      `this @grpc/grpc-js (or Node) no longer has what profgate relies on: ${problems.join("; ")}. Pin @grpc/grpc-js to the version in package-lock.json.`,
    );
  }
  checked = true;
}

/** grpc-js's per-call message decoder: the length-prefixed framing of the request stream. */
interface StreamDecoderInternals {
  write(data: Buffer): Buffer[];
  /** 0: between messages, 1: reading a length prefix, 2: reading a message. */
  readState: number;
  readMessageSize: number;
  readMessageRemaining: number;
  maxReadMessageLength: number;
}

/** The first interceptor's `next`: grpc-js's base call, which owns the decoder. */
interface BaseCallInternals {
  decoder?: StreamDecoderInternals;
  maxReceiveMessageSize?: number;
}

const READING_MESSAGE = 2;

function decoderOf(call: unknown): StreamDecoderInternals | undefined {
  const decoder = (call as BaseCallInternals).decoder;
  return decoder && typeof decoder.write === "function" ? decoder : undefined;
}

/**
 * Lowers the receive limit of one call (whose base call is `call`: the first interceptor's
 * `next`) below the server's: a message announcing more is refused at its length prefix, before
 * a byte of it is buffered, and a compressed one once it decompresses past the limit. grpc-js
 * has one limit per server; the edge needs one per method (public methods take a few KiB).
 */
export function limitMessageBytes(call: unknown, bytes: number): void {
  const decoder = decoderOf(call);
  if (!decoder) throw new Error("grpc-js internals changed: the base call has no message decoder");
  decoder.maxReadMessageLength = bytes;
  (call as BaseCallInternals).maxReceiveMessageSize = bytes;
}

/**
 * Calls `onPending` with the bytes of the message the call is receiving but has not completed,
 * after every data frame: what grpc-js buffers for a call before its handler can see anything.
 */
export function watchPendingBytes(call: unknown, onPending: (bytes: number) => void): void {
  const decoder = decoderOf(call);
  if (!decoder) throw new Error("grpc-js internals changed: the base call has no message decoder");
  const write = decoder.write;
  decoder.write = function watchedWrite(this: StreamDecoderInternals, data: Buffer) {
    const messages = write.call(this, data);
    onPending(this.readState === READING_MESSAGE ? this.readMessageSize - this.readMessageRemaining : 0);
    return messages;
  };
}

/** A decoder built the way grpc-js builds one, fed half a message: the fields above must say so. */
function decoderProblem(): string | undefined {
  const require = createRequire(import.meta.url);
  const { StreamDecoder } = require("@grpc/grpc-js/build/src/stream-decoder.js") as {
    StreamDecoder?: new (max: number) => StreamDecoderInternals;
  };
  if (!StreamDecoder) return "StreamDecoder (per-method message limits)";
  const decoder = new StreamDecoder(100);
  if (decoder.maxReadMessageLength !== 100)
    return "StreamDecoder.maxReadMessageLength (per-method message limits)";
  const frame = Buffer.from([0, 0, 0, 0, 10, 1, 2, 3]);
  decoder.write(frame);
  if (decoder.readState !== READING_MESSAGE || decoder.readMessageSize - decoder.readMessageRemaining !== 3)
    return "StreamDecoder.readState / readMessageSize / readMessageRemaining (pending-bytes bounds)";
  return undefined;
}

/**
 * Resets the HTTP/2 stream of a call that has sent its status (RST_STREAM CANCEL), so that a
 * client that keeps it open cannot keep the call, and the partial message grpc-js decoded for
 * it, alive.
 */
export function resetStream(call: unknown): void {
  const stream = (call as { stream?: { close?(code: number): void; closed?: boolean } }).stream;
  if (typeof stream?.close !== "function")
    throw new Error("grpc-js internals changed: the base call has no stream");
  if (!stream.closed) stream.close(http2Constants.NGHTTP2_CANCEL);
}

/** The message encodings the gateway decodes, as advertised in `grpc-accept-encoding`. */
export const ACCEPTED_ENCODINGS = "identity,deflate,gzip,zstd";
const SUPPORTED = new Set(ACCEPTED_ENCODINGS.split(","));

let zstdInstalled = false;

/**
 * grpc-js decodes identity, deflate and gzip messages only; parca-agent's
 * `--remote-store-compression=zstd` (and the OpenTelemetry Collector) send zstd. This wraps the
 * base call's `decompressMessage` once per process: zstd is decoded with its output and window
 * bounded by the call's receive limit (a bomb is refused like an oversized message), and any
 * other unknown encoding is refused with UNIMPLEMENTED naming the supported ones.
 */
export function acceptZstd(): void {
  if (zstdInstalled) return;
  const prototype = grpcModules().sendStatusOwner?.prototype as
    | {
        decompressMessage?(
          this: BaseCallInternals,
          message: Buffer,
          encoding: string,
        ): Promise<Buffer> | Buffer;
      }
    | undefined;
  const original = prototype?.decompressMessage;
  if (!prototype || typeof original !== "function")
    throw new Error("grpc-js internals changed: BaseServerInterceptingCall.decompressMessage not found");
  zstdInstalled = true;
  prototype.decompressMessage = function decompressMessage(this: BaseCallInternals, message, encoding) {
    if (encoding === "zstd") {
      const limit = this.maxReceiveMessageSize ?? -1;
      try {
        return Promise.resolve(
          decompressZstd(message.subarray(5), limit < 0 ? Number.MAX_SAFE_INTEGER : limit),
        );
      } catch (error) {
        return Promise.reject(
          error instanceof ZstdError && error.tooLarge
            ? {
                code: status.RESOURCE_EXHAUSTED,
                details: `Received message that decompresses to a size larger than ${limit}`,
              }
            : { code: status.INVALID_ARGUMENT, details: `The zstd message ${(error as Error).message}.` },
        );
      }
    }
    if (!SUPPORTED.has(encoding)) {
      return Promise.reject({
        code: status.UNIMPLEMENTED,
        details: `Messages compressed with "${encoding}" are not supported; send ${ACCEPTED_ENCODINGS.replaceAll(",", ", ")}.`,
      });
    }
    return original.call(this, message, encoding);
  };
}
