import { randomUUID } from "node:crypto";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { AgentClient } from "../agent-sim/agent-client.js";
import type { CallStats } from "./call-stats.js";
import type { CallKind } from "./mix.js";
import { type AgentPayloads, agentPayloads, payloadSize } from "./payload-pool.js";

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
}

const DEBUGINFO_BYTES = 64 * 1024;

/**
 * One agent of a simulated fleet: its own connection (a local subchannel pool), its `node`
 * label, and the calls parca-agent makes, each timed into `stats` with its status code.
 */
export class SimulatedAgent {
  private readonly client: AgentClient;
  private readonly payloads: AgentPayloads;
  private calls = 0;

  constructor(private readonly options: SimulatedAgentOptions) {
    this.client = new AgentClient(
      options.target,
      { token: options.token, projectId: options.projectId },
      options.channel,
      {
        ...options.channelOptions,
        "grpc.use_local_subchannel_pool": 1,
        "grpc.primary_user_agent": "profgate-loadgen",
      },
    );
    this.payloads = agentPayloads(options.node, options.payloadBytes);
  }

  async call(kind: CallKind, stats: CallStats): Promise<void> {
    const index = this.calls++;
    const started = performance.now();
    const deadline = { deadline: Date.now() + this.options.timeoutMs };
    let bytes = 0;
    let method = "";
    try {
      switch (kind) {
        case "writearrow":
          method = "WriteArrow";
          bytes = payloadSize(this.payloads, kind, index);
          await this.client.writeArrow(
            this.payloads.writeArrow[index % this.payloads.writeArrow.length]!,
            deadline,
          );
          break;
        case "write": {
          method = "Write";
          bytes = payloadSize(this.payloads, kind, index);
          const { sample, locations } = this.payloads.write[index % this.payloads.write.length]!;
          await this.client.write(sample, () => locations, deadline);
          break;
        }
        case "writeraw":
          method = "WriteRaw";
          bytes = payloadSize(this.payloads, kind, index);
          await this.client.writeRaw(
            this.payloads.writeRaw[index % this.payloads.writeRaw.length]!,
            deadline,
          );
          break;
        case "debuginfo":
          method = "Debuginfo";
          bytes = DEBUGINFO_BYTES;
          await this.uploadDebuginfo();
          break;
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

  close(): void {
    this.client.close();
  }
}
