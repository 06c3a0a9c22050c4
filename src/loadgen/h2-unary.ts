import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { status } from "@grpc/grpc-js";

/** Where the lean client connects: `host:port`, plaintext (h2c) or TLS with an optional CA and name. */
export interface H2Target {
  target: string;
  tls?: { ca?: Buffer | undefined; serverName?: string | undefined } | undefined;
}

/** How one unary call ended. */
export interface H2Outcome {
  code: status;
  details: string;
}

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

/**
 * One connection speaking gRPC unary calls directly over `node:http2`: the same bytes on the
 * wire as a gRPC client's (HEADERS with the metadata and `grpc-timeout`, one length-prefixed
 * message, status from the trailers), without a gRPC library's per-call machinery, so that one
 * load generator process can keep thousands of agents busy without becoming the bottleneck.
 * A connection that fails is replaced on the next call.
 */
export class H2UnaryConnection {
  private session: ClientHttp2Session | undefined;
  private readonly authority: string;
  private readonly scheme: "http" | "https";

  constructor(private readonly options: H2Target) {
    this.scheme = options.tls ? "https" : "http";
    this.authority = options.tls?.serverName ?? options.target;
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
   * One unary call of `path` with `metadata` and the serialized request `message`; resolves
   * with its status, never rejects. After `timeoutMs` the call is cancelled as DEADLINE_EXCEEDED.
   */
  unary(
    path: string,
    metadata: Record<string, string>,
    message: Buffer,
    timeoutMs: number,
  ): Promise<H2Outcome> {
    return new Promise((resolve) => {
      let stream: ClientHttp2Stream;
      let settled = false;
      let httpStatus = 0;
      let code: status | undefined;
      let details = "";
      const settle = (outcome: H2Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        settle({ code: status.DEADLINE_EXCEEDED, details: "Deadline exceeded" });
        stream?.close(constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      const take = (headers: Record<string, unknown>) => {
        if (headers[":status"] !== undefined) httpStatus = Number(headers[":status"]);
        if (headers["grpc-status"] !== undefined) {
          code = Number(headers["grpc-status"]) as status;
          details = decodeMessage(headers["grpc-message"]);
        }
      };
      try {
        stream = this.live().request({
          [constants.HTTP2_HEADER_METHOD]: "POST",
          [constants.HTTP2_HEADER_PATH]: path,
          [constants.HTTP2_HEADER_SCHEME]: this.scheme,
          [constants.HTTP2_HEADER_AUTHORITY]: this.authority,
          "content-type": "application/grpc",
          te: "trailers",
          "user-agent": "profgate-loadgen",
          "grpc-timeout": `${Math.max(1, Math.ceil(timeoutMs))}m`,
          ...metadata,
        });
      } catch (error) {
        this.drop();
        settle({ code: status.UNAVAILABLE, details: String(error) });
        return;
      }
      stream.on("response", take);
      stream.on("trailers", take);
      // The response message of a write is empty; its bytes are read and dropped.
      stream.on("data", () => {});
      stream.on("error", () => {});
      stream.on("close", () => {
        if (code !== undefined) settle({ code, details });
        else if (httpStatus !== 0 && httpStatus !== 200)
          settle({ code: codeOfHttpStatus(httpStatus), details: `HTTP status ${httpStatus}` });
        else
          settle({
            code: stream.rstCode === constants.NGHTTP2_CANCEL ? status.CANCELLED : status.UNAVAILABLE,
            details: `stream closed without a status (HTTP/2 code ${stream.rstCode ?? "none"})`,
          });
      });
      const prefix = Buffer.allocUnsafe(5);
      prefix.writeUInt8(0, 0);
      prefix.writeUInt32BE(message.byteLength, 1);
      stream.write(prefix);
      stream.end(message);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** The open session, or a new one when there is none or it failed. */
  private live(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const { tls } = this.options;
    const session = connect(
      `${this.scheme}://${this.options.target}`,
      tls ? { ca: tls.ca, servername: tls.serverName, ALPNProtocols: ["h2"] } : {},
    );
    session.on("error", () => this.drop(session));
    session.on("goaway", () => this.drop(session));
    session.on("close", () => this.drop(session));
    this.session = session;
    return session;
  }

  private drop(session = this.session): void {
    if (this.session === session) this.session = undefined;
  }
}
