import { randomUUID } from "node:crypto";
import { type CallOptions, type ChannelCredentials, Client, Metadata } from "@grpc/grpc-js";
import { AgentClient } from "../agent-sim/agent-client.js";
import { METHOD_PATHS, type OtlpMethod } from "../record-log/record.js";
import { OTLP_SIGNALS } from "../rpc/otlp-signals.js";
import type { CallStats } from "./call-stats.js";
import { H2UnaryConnection, type H2Target } from "../rpc/h2-unary.js";
import type { CallKind } from "./mix.js";
import { AgentPayloads } from "./payload-pool.js";

/** OTLP/HTTP statuses as the gRPC codes the load generator's summary counts. */
const HTTP_TO_GRPC: Readonly<Record<number, number>> = {
  400: 3,
  401: 16,
  403: 7,
  413: 3,
  415: 3,
  429: 8,
  503: 14,
};

/** The OTLP/HTTP path of each OTLP record method. */
const OTLP_HTTP_PATHS = new Map(OTLP_SIGNALS.map((signal) => [signal.method, signal.httpPath]));

/** The record method of each OTLP call kind. */
const OTLP_KINDS: Readonly<Record<"otlpprofiles" | "otlplogs" | "otlptraces" | "otlpmetrics", OtlpMethod>> = {
  otlpprofiles: "ExportProfiles",
  otlplogs: "ExportLogs",
  otlptraces: "ExportTraces",
  otlpmetrics: "ExportMetrics",
};

export interface SimulatedAgentOptions {
  target: string;
  channel: ChannelCredentials;
  channelOptions: Record<string, unknown>;
  token: string;
  projectId: string;
  node: string;
  payloadBytes: number;
  /** Per-call deadline. */
  timeoutMs: number;
  /** Payloads shared with other agents of a large fleet; default: the agent's own. */
  payloads?: AgentPayloads;
  /**
   * With `h2`, WriteArrow calls (junk included) go over a lean HTTP/2 client of the load
   * generator's own ({@link H2UnaryConnection}) on that connection, and the other methods over
   * grpc-js on a second connection opened on first use. Default: everything over grpc-js. With
   * `h2.compression` (zstd, which grpc-js cannot send), the OTLP Exports go over it too.
   */
  h2?: H2Target | undefined;
  /** With an OTLP/HTTP base URL (`http://host:4318`), the OTLP kinds go over OTLP/HTTP instead of gRPC. */
  otlpHttpUrl?: string | undefined;
}

const DEBUGINFO_BYTES = 64 * 1024;
const WRITE_ARROW = "/parca.profilestore.v1alpha1.ProfileStoreService/WriteArrow";
const passBuffer = (bytes: Buffer) => bytes;

/**
 * One agent of a simulated fleet: its own connection (a local subchannel pool), its `node`
 * label, and the calls parca-agent makes, each timed into `stats` with its status code.
 * WriteArrow requests are serialized once and sent as bytes, so that the load generator spends
 * its CPU on the wire, not on re-encoding the same 64 KiB.
 */
export class SimulatedAgent {
  /** The grpc-js connection; every other client of the agent shares its channel. */
  private grpcClient: Client | undefined;
  private agentClient: AgentClient | undefined;
  private readonly h2: H2UnaryConnection | undefined;
  private readonly payloads: AgentPayloads;
  private calls = 0;

  constructor(private readonly options: SimulatedAgentOptions) {
    this.h2 = options.h2
      ? new H2UnaryConnection({ ...options.h2, userAgent: "profgate-loadgen" })
      : undefined;
    this.payloads = options.payloads ?? new AgentPayloads(options.node, options.payloadBytes, 4);
  }

  /** Opens the agent's connection (TCP and HTTP/2 handshake) without making a call. */
  connect(deadlineMs: number): Promise<void> {
    if (this.h2) return this.h2.connect(deadlineMs);
    return new Promise((resolve, reject) =>
      this.raw.waitForReady(Date.now() + deadlineMs, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** A call of `kind`; with `junkToken`, a WriteArrow call carrying that token instead of the agent's. */
  async call(kind: CallKind, stats: CallStats, junkToken?: string): Promise<void> {
    const index = this.calls++;
    const started = performance.now();
    const deadline = { deadline: Date.now() + this.options.timeoutMs };
    let bytes = 0;
    let method = "";
    try {
      if (junkToken !== undefined) kind = "writearrow";
      switch (kind) {
        case "writearrow": {
          method = "WriteArrow";
          const payload = this.payloads.writeArrow(index);
          bytes = payload.ipcBuffer.byteLength;
          await this.writeArrow(payload.request, junkToken ?? this.options.token, deadline);
          break;
        }
        case "write": {
          method = "Write";
          bytes = this.payloads.size(kind, index);
          const { sample, locations } = this.payloads.write(index);
          await this.client.write(sample, () => locations, deadline);
          break;
        }
        case "writeraw":
          method = "WriteRaw";
          bytes = this.payloads.size(kind, index);
          await this.client.writeRaw(this.payloads.writeRaw(index), deadline);
          break;
        case "debuginfo":
          method = "Debuginfo";
          bytes = DEBUGINFO_BYTES;
          await this.uploadDebuginfo();
          break;
        case "otlpprofiles":
        case "otlplogs":
        case "otlptraces":
        case "otlpmetrics": {
          const record = OTLP_KINDS[kind];
          method = record;
          const body = this.payloads.otlpExport(index);
          bytes = body.byteLength;
          if (this.options.otlpHttpUrl) await this.postOtlp(OTLP_HTTP_PATHS.get(record) ?? "", body);
          else if (this.h2 && this.options.h2?.compression)
            await this.overH2(METHOD_PATHS[record], this.options.token, body, deadline);
          else await this.client.unaryRaw(METHOD_PATHS[record], body, deadline);
          break;
        }
        case "reportpanic":
          method = "ReportPanic";
          await this.client.reportPanic("panic: simulated\n", {
            agent_version: "loadgen",
            node: this.options.node,
          });
          break;
      }
      stats.record(method, 0, performance.now() - started, bytes);
    } catch (error) {
      stats.record(method, (error as { code?: number }).code ?? 2, performance.now() - started, bytes);
    }
  }

  /** One OTLP/HTTP protobuf request; a status other than 200 rejects with its gRPC-like code. */
  private async postOtlp(path: string, body: Buffer): Promise<void> {
    const response = await fetch(`${this.options.otlpHttpUrl}${path}`, {
      method: "POST",
      body: body as unknown as BodyInit,
      headers: {
        "content-type": "application/x-protobuf",
        authorization: `Bearer ${this.options.token}`,
        projectid: this.options.projectId,
      },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw { code: HTTP_TO_GRPC[response.status] ?? 2 };
  }

  close(): void {
    this.agentClient?.close();
    this.grpcClient?.close();
    this.h2?.close();
  }

  /** The grpc-js connection, opened on first use. */
  private get raw(): Client {
    this.grpcClient ??= new Client(this.options.target, this.options.channel, {
      "grpc.max_send_message_length": 64 * 1024 * 1024,
      ...this.options.channelOptions,
      "grpc.use_local_subchannel_pool": 1,
      "grpc.enable_channelz": 0,
      "grpc.primary_user_agent": "profgate-loadgen",
    });
    return this.grpcClient;
  }

  /** The agent's client for the other methods, made on first use, on the agent's connection. */
  private get client(): AgentClient {
    this.agentClient ??= new AgentClient(
      this.options.target,
      { token: this.options.token, projectId: this.options.projectId },
      this.options.channel,
      { channelOverride: this.raw.getChannel() },
    );
    return this.agentClient;
  }

  /** One unary call over the lean HTTP/2 client; a status other than OK rejects with it. */
  private async overH2(
    path: string,
    token: string,
    request: Uint8Array,
    options: CallOptions,
  ): Promise<void> {
    const metadata = { authorization: `Bearer ${token}`, projectid: this.options.projectId };
    const timeoutMs = Number(options.deadline) - Date.now();
    const outcome = await (this.h2 as H2UnaryConnection).unary(path, metadata, request, timeoutMs);
    if (outcome.code !== 0) throw Object.assign(new Error(outcome.details), outcome);
  }

  private async writeArrow(request: Buffer, token: string, options: CallOptions): Promise<void> {
    if (this.h2) return this.overH2(WRITE_ARROW, token, request, options);
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    metadata.set("projectid", this.options.projectId);
    return new Promise((resolve, reject) =>
      this.raw.makeUnaryRequest(WRITE_ARROW, passBuffer, passBuffer, request, metadata, options, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }

  /** The debuginfo flow for a build id this agent has not uploaded before. */
  private async uploadDebuginfo(): Promise<void> {
    const buildId = randomUUID().replaceAll("-", "");
    const should = await this.client.shouldInitiateUpload({ buildId, buildIdType: 1 });
    if (!should.shouldInitiateUpload) return;
    const { uploadInstructions } = await this.client.initiateUpload({
      buildId,
      size: BigInt(DEBUGINFO_BYTES),
      hash: buildId,
      buildIdType: 1,
    });
    const uploadId = uploadInstructions?.uploadId ?? "";
    await this.client.upload({ buildId, uploadId }, [new Uint8Array(DEBUGINFO_BYTES)]);
    await this.client.markUploadFinished({ buildId, uploadId });
  }
}
