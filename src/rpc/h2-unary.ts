import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { status } from "@grpc/grpc-js";

/** Where the lean client connects: `host:port`, plaintext (h2c) or TLS with an optional CA and name. */
export interface H2Target {
  target: string;
  tls?: { ca?: Buffer | undefined; serverName?: string | undefined } | undefined;
  /** The `user-agent` of every call. Default `profgate`. */
  userAgent?: string | undefined;
  /** The largest response message accepted. Default 4 MiB. */
  maxResponseBytes?: number | undefined;
  /** After a failed connection, a new one is tried after this long, doubling up to `maxBackoffMs`. */
  initialBackoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  /** Every request message compressed with this (`grpc-encoding`); none: identity. */
  compression?: MessageCompression | undefined;
}

/** A gRPC message encoding the client sends: its `grpc-encoding` name and its compressor. */
export interface MessageCompression {
  name: string;
  compress(message: Uint8Array): Uint8Array;
}

/** How one unary call ended: its status, and the response message when it is OK. */
export interface H2Outcome {
  code: status;
  details: string;
  response?: Buffer | undefined;
}

/** The connection's state, named as gRPC's connectivity states. */
export type H2State = "IDLE" | "CONNECTING" | "READY" | "TRANSIENT_FAILURE";

/** gRPC's mapping of an HTTP status without a grpc-status (grpc/doc/http-grpc-status-mapping.md). */
function codeOfHttpStatus(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
      return status.INTERNAL;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return status.UNAVAILABLE;
    default:
      return status.UNKNOWN;
  }
}

function decodeMessage(value: unknown): string {
  if (typeof value !== "string") return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The one message of a unary response body (5-byte prefix, then the message), or why not. */
function responseMessage(chunks: Buffer[], length: number, max: number): Buffer | string {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  if (body.byteLength < 5) return "the response has no message";
  if (body[0] !== 0) return "the response message is compressed, which was not asked for";
  const size = body.readUInt32BE(1);
  if (size > max) return `the response message (${size} bytes) exceeds the limit of ${max} bytes`;
  if (body.byteLength !== 5 + size) return "the response body is not exactly one message";
  return body.subarray(5);
}

/**
 * One connection speaking gRPC unary calls directly over `node:http2`: the same bytes on the
 * wire as a gRPC client's (HEADERS with the metadata and `grpc-timeout`, one length-prefixed
 * message, the response message and the status from the trailers), without a gRPC library's
 * per-call machinery. A connection that fails is replaced on the next call, and in the
 * background after a back-off, so that its state recovers by itself.
 *
 * Transport failures are reported with grpc-js's wording (`No connection established`,
 * `Connection dropped`, `Stream refused by server`), so that callers classify both alike.
 */
export class H2UnaryConnection {
  private session: ClientHttp2Session | undefined;
  private readonly authority: string;
  private readonly scheme: "http" | "https";
  private failedAt = 0;
  private backoffMs: number;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: H2Target) {
    this.scheme = options.tls ? "https" : "http";
    this.authority = options.tls?.serverName ?? options.target;
    this.backoffMs = options.initialBackoffMs ?? 1000;
  }

  /** READY with a connected session; TRANSIENT_FAILURE from a failed connection until the next one. */
  get state(): H2State {
    if (this.session && !this.session.closed && !this.session.destroyed)
      return this.session.connecting ? "CONNECTING" : "READY";
    return this.failedAt > 0 ? "TRANSIENT_FAILURE" : "IDLE";
  }

  /** Opens the connection (TCP, TLS, HTTP/2 settings) and resolves once it is up. */
  connect(deadlineMs: number): Promise<void> {
    const session = this.live();
    if (!session.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no connection within ${deadlineMs} ms`)), deadlineMs);
      const done = () => {
        clearTimeout(timer);
        session.off("error", fail);
        resolve();
      };
      const fail = (error: Error) => {
        clearTimeout(timer);
        session.off("connect", done);
        reject(error);
      };
      session.once("connect", done);
      session.once("error", fail);
    });
  }

  /**
   * One unary call of `path` with `metadata` (header values, `-bin` ones base64) and the
   * serialized request `message`; resolves with its status and response, never rejects. After
   * `timeoutMs` the call is cancelled as DEADLINE_EXCEEDED; when `signal` aborts, as CANCELLED.
   */
  unary(
    path: string,
    metadata: Readonly<Record<string, string>>,
    message: Uint8Array,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<H2Outcome> {
    const { compression } = this.options;
    return new Promise((resolve) => {
      let stream: ClientHttp2Stream | undefined;
      let settled = false;
      let httpStatus = 0;
      let code: status | undefined;
      let details = "";
      const chunks: Buffer[] = [];
      let received = 0;
      const maxResponse = this.options.maxResponseBytes ?? 4 * 1024 * 1024;
      const settle = (outcome: H2Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const cancel = (outcome: H2Outcome) => {
        settle(outcome);
        if (stream && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
      const onAbort = () => cancel({ code: status.CANCELLED, details: "Cancelled on client" });
      const timer = setTimeout(
        () => cancel({ code: status.DEADLINE_EXCEEDED, details: "Deadline exceeded" }),
        Math.max(0, timeoutMs),
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const take = (headers: Record<string, unknown>) => {
        if (headers[":status"] !== undefined) httpStatus = Number(headers[":status"]);
        if (headers["grpc-status"] !== undefined) {
          code = Number(headers["grpc-status"]) as status;
          details = decodeMessage(headers["grpc-message"]);
        }
      };
      const session = this.live();
      try {
        stream = session.request({
          [constants.HTTP2_HEADER_METHOD]: "POST",
          [constants.HTTP2_HEADER_PATH]: path,
          [constants.HTTP2_HEADER_SCHEME]: this.scheme,
          [constants.HTTP2_HEADER_AUTHORITY]: this.authority,
          "content-type": "application/grpc",
          te: "trailers",
          "user-agent": this.options.userAgent ?? "profgate",
          "grpc-timeout": `${Math.max(1, Math.ceil(timeoutMs))}m`,
          ...(compression ? { "grpc-encoding": compression.name, "grpc-accept-encoding": "identity" } : {}),
          ...metadata,
        });
      } catch (error) {
        this.drop(session);
        settle({ code: status.UNAVAILABLE, details: `No connection established: ${String(error)}` });
        return;
      }
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("data", (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received > maxResponse + 5)
          cancel({ code: status.RESOURCE_EXHAUSTED, details: "the response exceeds the message limit" });
        else chunks.push(chunk);
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        if (code === status.OK) {
          const response = responseMessage(chunks, received, maxResponse);
          if (typeof response === "string") settle({ code: status.INTERNAL, details: response });
          else settle({ code, details, response });
        } else if (code !== undefined) settle({ code, details });
        else if (httpStatus !== 0 && httpStatus !== 200)
          settle({ code: codeOfHttpStatus(httpStatus), details: `HTTP status ${httpStatus}` });
        else settle(this.withoutStatus(session, stream!));
      });
      const body = compression ? compression.compress(message) : message;
      const prefix = Buffer.allocUnsafe(5);
      prefix.writeUInt8(compression ? 1 : 0, 0);
      prefix.writeUInt32BE(body.byteLength, 1);
      stream.write(prefix);
      stream.end(body);
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.session?.close();
    this.session = undefined;
  }

  /** A stream that closed without a status: the connection's fault, in grpc-js's words. */
  private withoutStatus(session: ClientHttp2Session, stream: ClientHttp2Stream): H2Outcome {
    const rst = stream.rstCode;
    if (rst === constants.NGHTTP2_REFUSED_STREAM)
      return { code: status.UNAVAILABLE, details: "Stream refused by server" };
    if (rst === constants.NGHTTP2_CANCEL) return { code: status.CANCELLED, details: "Call cancelled" };
    return {
      code: status.UNAVAILABLE,
      details: this.wasConnected.has(session) ? "Connection dropped" : "No connection established",
    };
  }

  private readonly wasConnected = new WeakSet<ClientHttp2Session>();

  /** The open session, or a new one when there is none or it failed. */
  private live(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const { tls } = this.options;
    const session = connect(
      `${this.scheme}://${this.options.target}`,
      tls ? { ca: tls.ca, servername: tls.serverName, ALPNProtocols: ["h2"] } : {},
    );
    session.on("connect", () => {
      this.wasConnected.add(session);
      this.failedAt = 0;
      this.backoffMs = this.options.initialBackoffMs ?? 1000;
    });
    session.on("error", () => this.failed(session));
    session.on("goaway", () => this.drop(session));
    session.on("close", () => (this.wasConnected.has(session) ? this.drop(session) : this.failed(session)));
    this.session = session;
    return session;
  }

  /** A connection that could not be made or broke: try again later, in the background. */
  private failed(session: ClientHttp2Session): void {
    this.drop(session);
    if (this.wasConnected.has(session) && this.failedAt === 0) return;
    this.failedAt = Date.now();
    if (this.closed || this.retry) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed && this.session === undefined) this.live();
    }, wait);
    this.retry.unref();
  }

  private drop(session = this.session): void {
    if (this.session === session) this.session = undefined;
  }
}
