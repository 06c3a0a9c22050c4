import type { IncomingMessage, ServerResponse } from "node:http";
import { gunzip } from "node:zlib";
import type { Logger } from "pino";
import type { CallCredentials } from "../../auth/auth-decision.js";
import { type AuthDecision, INGEST_POLICIES, type MethodPolicy } from "../../auth/method-policies.js";
import type { AuthContext } from "../../auth/principal.js";
import type { HostPort } from "../../config/flag-spec.js";
import { type ConsoleTlsFiles, listenHttp } from "../../console/console-tls.js";
import { decompressZstd, ZstdError } from "../zstd.js";
import { describeError, invalidArgument, unavailable } from "../../errors.js";
import { MEMORY_SHEDDING, type MemoryGuard } from "../guards/memory-guard.js";
import type { PendingBytes } from "../guards/pending-bytes.js";
import type { Admit } from "../../ingest/admission.js";
import { METHOD_PATHS } from "../../record-log/record.js";
import { OTLP_SIGNALS, type OtlpSignal } from "../../rpc/otlp-signals.js";
import { otlpJsonToBinary } from "./otlp-json.js";
import { logRequest } from "./otlp-http-log.js";
import { encodeRpcStatus, toOtlpHttpError } from "./otlp-http-status.js";

export interface OtlpHttpOptions {
  address: HostPort;
  /** Serve HTTPS with these files (reloaded when they change); plain HTTP otherwise. */
  tls?: ConsoleTlsFiles | undefined;
  /** The gateway's auth decision, as the agent listener makes it. */
  decide(
    policy: MethodPolicy,
    credentials: CallCredentials,
    peer: string,
  ): AuthContext | Promise<AuthContext>;
  /** The agent listener's rate limits. */
  admit: Admit;
  /** Stores or forwards one accepted request (the destination's `deliverOtlp`). */
  deliver(signal: OtlpSignal, auth: AuthContext, request: Buffer, deadline: number): Promise<void>;
  /** The agent listener's bounds on incomplete bodies. */
  pending?: PendingBytes | undefined;
  /** The gateway's memory guard: while it is pressed, new requests get 503 before their body is read. */
  memory?: Pick<MemoryGuard, "pressed"> | undefined;
  groupOf(address: string): string;
  /** The largest body, compressed or not: the agent listener's receive limit. */
  maxBodyBytes: number;
  /** How long a request may take to be stored or forwarded. */
  timeoutMs: number;
  onAllowed?: ((context: AuthContext) => void) | undefined;
  /** Each auth decision, as the agent listener reports its own (the auth metrics). */
  onDecision?: ((decision: AuthDecision) => void) | undefined;
  /** One finished request: its signal's record method (or "unknown") and HTTP status. */
  onRequest?: ((method: string, httpStatus: number) => void) | undefined;
  /**
   * The share of successful requests that get a log line (`--access-log`): 1 every one, 0 none.
   * Refused and failed requests always get theirs. Default 1.
   */
  successSample?: number | undefined;
  log: Pick<Logger, "info" | "warn" | "debug">;
}

export interface OtlpHttpServer {
  address: HostPort;
  close(graceMs?: number): Promise<void>;
}

const BY_PATH = new Map(OTLP_SIGNALS.map((signal) => [signal.httpPath, signal]));

type Encoding = "protobuf" | "json";

function mediaType(req: IncomingMessage): Encoding | undefined {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "application/x-protobuf") return "protobuf";
  if (type === "application/json") return "json";
  return undefined;
}

/** A refusal that is about the HTTP exchange itself, not the request's content. */
class HttpRefusal extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The gRPC code in the `google.rpc.Status` body of each refusal about the HTTP exchange. */
const REFUSAL_CODES: Readonly<Record<number, number>> = {
  404: 5, // NOT_FOUND
  405: 12, // UNIMPLEMENTED
  413: 3, // INVALID_ARGUMENT: resending the same body cannot help
  415: 3,
  429: 8, // RESOURCE_EXHAUSTED
  503: 14, // UNAVAILABLE
};

/** Reads the body up to `max` bytes, counting it against the incomplete-bytes bounds as it arrives. */
async function readBody(req: IncomingMessage, options: OtlpHttpOptions): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > options.maxBodyBytes) {
    throw new HttpRefusal(
      413,
      `The body of ${declared} bytes is larger than the gateway's limit of ${options.maxBodyBytes} bytes.`,
    );
  }
  const peer = req.socket.remoteAddress ?? "";
  const pending = options.pending?.enabled ? options.pending : undefined;
  const entry = pending?.entry(`${peer}:${req.socket.remotePort}`, options.groupOf(peer));
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBodyBytes) {
        throw new HttpRefusal(
          413,
          `The body is larger than the gateway's limit of ${options.maxBodyBytes} bytes.`,
        );
      }
      chunks.push(chunk);
      const passed = entry && pending?.update(entry, size);
      if (passed === "total") {
        throw new HttpRefusal(503, "The gateway holds too many incomplete requests; retry shortly.", {
          "retry-after": "1",
        });
      }
      if (passed) {
        throw new HttpRefusal(
          429,
          `Too many bytes of incomplete requests from this ${passed}; retry later.`,
          {
            "retry-after": "1",
          },
        );
      }
    }
  } finally {
    if (entry) pending?.release(entry);
  }
  return Buffer.concat(chunks, size);
}

function decompress(req: IncomingMessage, body: Buffer, max: number): Promise<Buffer> {
  const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return Promise.resolve(body);
  const tooLarge = () =>
    new HttpRefusal(413, `The body decompresses to more than the gateway's limit of ${max} bytes.`);
  if (encoding === "zstd") {
    try {
      return Promise.resolve(decompressZstd(body, max));
    } catch (error) {
      if (error instanceof ZstdError && error.tooLarge) return Promise.reject(tooLarge());
      return Promise.reject(invalidArgument(`The zstd body ${(error as Error).message}.`, "malformed_otlp"));
    }
  }
  if (encoding === "gzip") {
    return new Promise((resolve, reject) =>
      gunzip(body, { maxOutputLength: max }, (error, result) => {
        if (!error) resolve(result);
        else if (
          error instanceof RangeError ||
          (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
        )
          reject(tooLarge());
        else reject(invalidArgument("The gzip body could not be decompressed.", "malformed_otlp"));
      }),
    );
  }
  return Promise.reject(
    new HttpRefusal(
      415,
      `Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip, zstd or none.`,
    ),
  );
}

/** The auth decision, reported to `onDecision` with its outcome and duration. */
async function decided(
  options: OtlpHttpOptions,
  policy: MethodPolicy,
  credentials: CallCredentials,
  peer: string,
  path: string,
): Promise<AuthContext> {
  const startedAt = performance.now();
  const report = (allowed: boolean, reason: string) =>
    options.onDecision?.({ path, allowed, reason, seconds: (performance.now() - startedAt) / 1000 });
  try {
    const context = await options.decide(policy, credentials, peer);
    report(true, "allowed");
    return context;
  } catch (error) {
    report(false, describeError(error).reason);
    throw error;
  }
}

/**
 * OTLP/HTTP (`POST /v1development/profiles`, `/v1/logs`, `/v1/metrics`, `/v1/traces`) on a
 * listener of its own, with the agent listener's auth decision, limits and destination: the
 * bearer token and `projectid` headers are decided on before a byte of the body is read; while
 * the memory guard is pressed, an allowed request gets 503 without its body being read; the
 * body is bounded before it is buffered (and counted against the incomplete-bytes bounds), then
 * decompressed (gzip, zstd) within the same limit, decoded from JSON when it is JSON, admitted
 * against the project's rate limit and stored or forwarded as protobuf bytes. Status codes as
 * the OTLP specification asks, with a `google.rpc.Status` body.
 */
export async function startOtlpHttpServer(options: OtlpHttpOptions): Promise<OtlpHttpServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const signal = BY_PATH.get(path);
    const encoding = mediaType(req) ?? "json";
    let context: AuthContext | undefined;
    let received = 0;
    let refusal: string | undefined;
    const answer = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        "content-type": encoding === "protobuf" ? "application/x-protobuf" : "application/json",
        ...headers,
      });
      res.end(body);
      options.onRequest?.(signal?.method ?? "unknown", status);
    };
    const fail = (
      status: number,
      grpcCode: number,
      message: string,
      headers: Record<string, string> = {},
    ) => {
      refusal = message;
      answer(
        status,
        encoding === "protobuf"
          ? encodeRpcStatus(grpcCode, message)
          : JSON.stringify({ code: grpcCode, message }),
        // A refused request's body is not read: the connection cannot carry another request.
        req.complete ? headers : { ...headers, connection: "close" },
      );
    };
    try {
      if (!signal)
        throw new HttpRefusal(
          404,
          `There is no OTLP endpoint ${path}; use ${[...BY_PATH.keys()].join(", ")}.`,
        );
      if (req.method !== "POST") throw new HttpRefusal(405, `Use POST on ${path}.`, { allow: "POST" });
      if (!mediaType(req)) {
        throw new HttpRefusal(415, "Send Content-Type application/x-protobuf or application/json.");
      }
      const policy = INGEST_POLICIES.get(METHOD_PATHS[signal.method]);
      if (!policy) throw new Error(`no policy for ${signal.method}`);
      const credentials: CallCredentials = {
        authorization: req.headers.authorization,
        projectId: typeof req.headers.projectid === "string" ? req.headers.projectid : undefined,
        entries: req.rawHeaders.length / 2,
      };
      context = await decided(options, policy, credentials, req.socket.remoteAddress ?? "", path);
      options.onAllowed?.(context);
      if (options.memory?.pressed) throw unavailable(MEMORY_SHEDDING, "memory_pressure");
      const raw = await readBody(req, options);
      received = raw.length;
      const body = await decompress(req, raw, options.maxBodyBytes);
      const request = encoding === "json" ? Buffer.from(otlpJsonToBinary(signal.requestSchema, body)) : body;
      await options.admit(context, request.length);
      await options.deliver(signal, context, request, Date.now() + options.timeoutMs);
      answer(200, encoding === "protobuf" ? Buffer.alloc(0) : "{}");
    } catch (error) {
      if (error instanceof HttpRefusal) {
        fail(error.httpStatus, REFUSAL_CODES[error.httpStatus] ?? 3, error.message, error.headers);
      } else {
        const mapped = toOtlpHttpError(error);
        const retry: Record<string, string> =
          mapped.httpStatus === 429 || mapped.httpStatus === 503 ? { "retry-after": "1" } : {};
        fail(mapped.httpStatus, mapped.grpcCode, mapped.message, retry);
        if (mapped.cause !== undefined)
          options.log.warn({ err: mapped.cause, path }, "an OTLP/HTTP request failed");
      }
    }
    logRequest(options, {
      method: signal?.method ?? "unknown",
      route: `${req.method ?? ""} ${path}`,
      status: res.statusCode,
      organizationId: context?.organizationId,
      projectId: context?.projectId,
      serviceAccountId: context?.serviceAccountId,
      tokenId: context?.tokenId,
      durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
      bytes: received,
      peer: `${req.socket.remoteAddress ?? ""}:${req.socket.remotePort ?? ""}`,
      details: refusal,
    });
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      options.log.warn({ err: error }, "an OTLP/HTTP request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const { server, port, stopWatching } = await listenHttp({
    address: options.address,
    tls: options.tls,
    log: options.log,
    what: "the OTLP/HTTP listener",
    handler: onRequest,
  });
  return {
    address: { host: options.address.host, port },
    async close(graceMs = 5000) {
      stopWatching();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
