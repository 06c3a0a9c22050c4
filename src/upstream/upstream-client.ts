import {
  type CallOptions,
  Client,
  type ClientDuplexStream,
  type ClientWritableStream,
  connectivityState,
  credentials,
  type Deadline,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import type { GrpcType } from "../rpc/call-events.js";
import { H2UnaryConnection, type H2Outcome } from "../rpc/h2-unary.js";
import { redactTokens } from "../token/redact.js";
import type { UpstreamSettings } from "./upstream-settings.js";

/** The largest message either way; Parca's server accepts 64 MiB and agents send up to 32 MiB. */
export const UPSTREAM_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const identity = (bytes: Buffer): Buffer => bytes;

/** When an upstream call must end: the agent's deadline, capped at `now + capMs`. */
export interface UpstreamDeadline {
  /** Milliseconds since the epoch; Infinity: none. */
  at: number;
  /** True when the cap, not the agent's deadline, decides: its expiry is the upstream's fault. */
  capped: boolean;
}

/** The agent's deadline (grpc-js form) capped at `now + capMs`; no cap when `capMs` is undefined. */
export function upstreamDeadline(callDeadline: Deadline, capMs?: number, now = Date.now()): UpstreamDeadline {
  const agent = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
  if (capMs === undefined || agent <= now + capMs) return { at: agent, capped: false };
  return { at: now + capMs, capped: true };
}

/** One upstream method's calls, as they happen: messages each way and how each call ended. */
export interface UpstreamMethodObserver {
  started(): void;
  sent(): void;
  received(): void;
  ended(code: status, seconds: number): void;
}

/** Watches the calls made to the upstream; asked once per method path. */
export interface UpstreamCallObserver {
  forMethod(path: string, type: GrpcType): UpstreamMethodObserver;
}

const UNOBSERVED: UpstreamMethodObserver = { started() {}, sent() {}, received() {}, ended() {} };

/** An observer's view of one call: `ended` counts once, whichever way the call ends. */
function observeCall(method: UpstreamMethodObserver) {
  const startedAt = performance.now();
  let ended = false;
  method.started();
  return {
    sent: () => method.sent(),
    received: () => method.received(),
    ended(code: status) {
      if (ended) return;
      ended = true;
      method.ended(code, (performance.now() - startedAt) / 1000);
    },
  };
}

/** Counts each message written to a client stream before it goes out. */
function countWrites(stream: { write: (...args: never[]) => boolean }, sent: () => void): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    sent();
    return write(...args);
  }) as typeof stream.write;
}

/**
 * The connection to the upstream Parca-compatible server, speaking bytes: requests and
 * responses are passed as the serialized messages they are, never decoded. Builds the metadata
 * of every upstream call from the gateway's settings alone: its bearer token, the configured
 * headers and the project; nothing the agent sent is copied, so the agent's token never leaves.
 */
export class UpstreamClient {
  /** The Write exchange and uploads: streams, through grpc-js. */
  private readonly client: Client;
  /** Unary calls (the writes, OTLP, spool deliveries): one lean HTTP/2 connection. */
  private readonly lean: H2UnaryConnection;
  private readonly pinnedProjectId: string | undefined;
  private readonly methods = new Map<string, UpstreamMethodObserver>();

  constructor(
    private readonly settings: UpstreamSettings,
    private readonly observer?: UpstreamCallObserver,
  ) {
    const channelCredentials = settings.insecure
      ? credentials.createInsecure()
      : credentials.createSsl(settings.ca ?? null);
    this.client = new Client(settings.address, channelCredentials, {
      "grpc.max_send_message_length": UPSTREAM_MAX_MESSAGE_BYTES,
      "grpc.max_receive_message_length": UPSTREAM_MAX_MESSAGE_BYTES,
      "grpc.enable_channelz": 0,
      // An upstream that comes back is found within a second, not grpc-js's default two
      // minutes: there is one upstream, and a spool waiting to be delivered to it.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      ...(settings.serverName
        ? {
            "grpc.ssl_target_name_override": settings.serverName,
            "grpc.default_authority": settings.serverName,
          }
        : {}),
    });
    this.lean = new H2UnaryConnection({
      target: settings.address,
      tls: settings.insecure ? undefined : { ca: settings.ca, serverName: settings.serverName },
      userAgent: "profgate-upstream",
      maxResponseBytes: UPSTREAM_MAX_MESSAGE_BYTES,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
    });
    this.pinnedProjectId = settings.headers["projectid"];
  }

  get address(): string {
    return this.settings.address;
  }

  get timeoutMs(): number {
    return this.settings.timeoutMs;
  }

  /** The `projectid` an upstream call for the caller's project carries: a configured one wins. */
  upstreamProjectId(callerProjectId: string): string {
    return this.pinnedProjectId ?? callerProjectId;
  }

  /** The headers of a unary upstream call carrying `projectid: upstreamProjectId`. */
  headers(upstreamProjectId: string): Record<string, string> {
    const headers: Record<string, string> = { ...this.settings.headers, projectid: upstreamProjectId };
    if (this.settings.bearerToken !== undefined)
      headers["authorization"] = `Bearer ${this.settings.bearerToken}`;
    return headers;
  }

  /** The metadata of an upstream call carrying `projectid: upstreamProjectId`. */
  metadata(upstreamProjectId: string): Metadata {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this.headers(upstreamProjectId))) metadata.set(key, value);
    return metadata;
  }

  /**
   * One unary call over the lean connection, bounded by `deadline` (ms since the epoch; Infinity:
   * none) and cancelled when `signal` aborts. Resolves with the status, never rejects.
   */
  async unary(
    path: string,
    request: Buffer,
    upstreamProjectId: string,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<H2Outcome> {
    const call = observeCall(this.method(path, "unary"));
    call.sent();
    const timeoutMs = Number.isFinite(deadline) ? deadline - Date.now() : 24 * 3600 * 1000;
    const outcome = await this.lean.unary(path, this.headers(upstreamProjectId), request, timeoutMs, signal);
    if (outcome.response !== undefined) call.received();
    call.ended(outcome.code);
    return outcome;
  }

  clientStream(
    path: string,
    metadata: Metadata,
    deadline: number,
    callback: (error: ServiceError | null, response?: Buffer) => void,
  ): ClientWritableStream<Buffer> {
    const call = observeCall(this.method(path, "client_stream"));
    const stream = this.client.makeClientStreamRequest(
      path,
      identity,
      identity,
      metadata,
      this.options(deadline),
      (error, response) => {
        if (response !== undefined) call.received();
        call.ended(error ? error.code : status.OK);
        callback(error, response);
      },
    );
    countWrites(stream, call.sent);
    return stream;
  }

  bidi(path: string, metadata: Metadata, deadline: number): ClientDuplexStream<Buffer, Buffer> {
    const call = observeCall(this.method(path, "bidi_stream"));
    const stream = this.client.makeBidiStreamRequest(
      path,
      identity,
      identity,
      metadata,
      this.options(deadline),
    );
    countWrites(stream, call.sent);
    stream.on("data", call.received);
    stream.on("status", (s: { code: status }) => call.ended(s.code));
    return stream;
  }

  private method(path: string, type: GrpcType): UpstreamMethodObserver {
    if (!this.observer) return UNOBSERVED;
    let method = this.methods.get(path);
    if (method === undefined) {
      method = this.observer.forMethod(path, type);
      this.methods.set(path, method);
    }
    return method;
  }

  /** `text` without the gateway's upstream token or anything token-shaped: safe to log or return. */
  scrub(text: string): string {
    const token = this.settings.bearerToken;
    const without = token ? text.split(token).join("[REDACTED]") : text;
    return redactTokens(without);
  }

  /**
   * The upstream's state, e.g. for readiness: `READY`, `CONNECTING`, `TRANSIENT_FAILURE`, `IDLE`;
   * TRANSIENT_FAILURE when either connection is failing, else the unary connection's.
   */
  connectivity(): string {
    const streams = connectivityState[this.client.getChannel().getConnectivityState(false)] ?? "UNKNOWN";
    return streams === "TRANSIENT_FAILURE" ? streams : this.lean.state;
  }

  close(): void {
    this.lean.close();
    this.client.close();
  }

  private options(deadline: number): CallOptions {
    return Number.isFinite(deadline) ? { deadline } : {};
  }
}
