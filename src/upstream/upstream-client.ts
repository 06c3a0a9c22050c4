import {
  type CallOptions,
  Client,
  type ClientDuplexStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  connectivityState,
  credentials,
  type Deadline,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
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

/**
 * The connection to the upstream Parca-compatible server, speaking bytes: requests and
 * responses are passed as the serialized messages they are, never decoded. Builds the metadata
 * of every upstream call from the gateway's settings alone: its bearer token, the configured
 * headers and the project; nothing the agent sent is copied, so the agent's token never leaves.
 */
export class UpstreamClient {
  private readonly client: Client;
  private readonly pinnedProjectId: string | undefined;

  constructor(private readonly settings: UpstreamSettings) {
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

  /** The metadata of an upstream call carrying `projectid: upstreamProjectId`. */
  metadata(upstreamProjectId: string): Metadata {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this.settings.headers)) metadata.set(key, value);
    metadata.set("projectid", upstreamProjectId);
    if (this.settings.bearerToken !== undefined) {
      metadata.set("authorization", `Bearer ${this.settings.bearerToken}`);
    }
    return metadata;
  }

  unary(
    path: string,
    request: Buffer,
    metadata: Metadata,
    deadline: number,
    callback: (error: ServiceError | null, response?: Buffer) => void,
  ): ClientUnaryCall {
    return this.client.makeUnaryRequest(
      path,
      identity,
      identity,
      request,
      metadata,
      this.options(deadline),
      callback,
    );
  }

  clientStream(
    path: string,
    metadata: Metadata,
    deadline: number,
    callback: (error: ServiceError | null, response?: Buffer) => void,
  ): ClientWritableStream<Buffer> {
    return this.client.makeClientStreamRequest(
      path,
      identity,
      identity,
      metadata,
      this.options(deadline),
      callback,
    );
  }

  bidi(path: string, metadata: Metadata, deadline: number): ClientDuplexStream<Buffer, Buffer> {
    return this.client.makeBidiStreamRequest(path, identity, identity, metadata, this.options(deadline));
  }

  /** `text` without the gateway's upstream token or anything token-shaped: safe to log or return. */
  scrub(text: string): string {
    const token = this.settings.bearerToken;
    const without = token ? text.split(token).join("[REDACTED]") : text;
    return redactTokens(without);
  }

  /** The connection's state, e.g. for readiness: `READY`, `CONNECTING`, `TRANSIENT_FAILURE`, `IDLE`. */
  connectivity(): string {
    return connectivityState[this.client.getChannel().getConnectivityState(false)] ?? "UNKNOWN";
  }

  close(): void {
    this.client.close();
  }

  private options(deadline: number): CallOptions {
    return Number.isFinite(deadline) ? { deadline } : {};
  }
}
