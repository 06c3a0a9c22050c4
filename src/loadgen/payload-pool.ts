import { create, toBinary } from "@bufbuild/protobuf";
import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../agent-sim/index.js";
import { encodePprof } from "../agent-sim/pprof-profile.js";
import { WriteArrowRequestSchema } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { varint } from "../rpc/protobuf-wire.js";

/** A WriteArrow payload and the serialized `WriteArrowRequest` that carries it, sent as is. */
export interface ArrowPayload {
  ipcBuffer: Uint8Array;
  request: Buffer;
}

export interface WritePayload {
  sample: Uint8Array;
  locations: Uint8Array;
}

export interface WriteRawPayload {
  series: Array<{
    labels: { labels: Array<{ name: string; value: string }> };
    samples: Array<{ rawProfile: Uint8Array }>;
  }>;
}

/**
 * Payloads shaped like one agent's, labelled with its `node`, encoded on first use (a fleet that
 * only sends WriteArrow never encodes pprof; one that only connects encodes nothing): WriteArrow
 * v2 streams (LZ4-framed buffers) padded to about `payloadBytes`, v1 sample records with
 * run-end-encoded stacktrace ids plus their locations records, and gzipped pprof WriteRaw series.
 * `variants` payloads of each kind take turns.
 */
export class AgentPayloads {
  private arrow: ArrowPayload[] | undefined;
  private exchange: WritePayload[] | undefined;
  private raw: WriteRawPayload[] | undefined;
  private otlp: Buffer[] | undefined;

  constructor(
    readonly node: string,
    private readonly payloadBytes: number,
    private readonly variants: number,
  ) {}

  writeArrow(index: number): ArrowPayload {
    this.arrow ??= this.many(() => {
      const ipcBuffer = encodeArrowV2({ labels: { node: this.node }, payloadBytes: this.payloadBytes });
      const bytes = toBinary(WriteArrowRequestSchema, create(WriteArrowRequestSchema, { ipcBuffer }));
      return { ipcBuffer, request: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    });
    return this.arrow[index % this.arrow.length]!;
  }

  write(index: number): WritePayload {
    this.exchange ??= this.many(() => {
      const ids = Array.from({ length: this.stacks }, randomStacktraceId);
      return {
        sample: encodeSampleRecord({
          labels: { node: this.node },
          stacktraceIds: ids,
          stacktraceEncoding: "run-end-encoded",
        }),
        locations: encodeLocationsRecord(ids),
      };
    });
    return this.exchange[index % this.exchange.length]!;
  }

  writeRaw(index: number): WriteRawPayload {
    this.raw ??= this.many((seed) => ({
      series: [
        {
          labels: {
            labels: [
              { name: "__name__", value: "parca_agent_cpu" },
              { name: "node", value: this.node },
            ],
          },
          samples: [{ rawProfile: encodePprof({ stacks: Math.max(1, Math.round(this.stacks / 8)), seed }) }],
        },
      ],
    }));
    return this.raw[index % this.raw.length]!;
  }

  /**
   * An OTLP Export request of about `payloadBytes`: one resource entry whose schema URL field
   * carries the node and the padding. Every signal's envelope has its resources as field 1, so
   * one body serves all four; the gateway checks and stores the envelope as it is.
   */
  otlpExport(index: number): Buffer {
    this.otlp ??= this.many((seed) => {
      const text = Buffer.from(`${this.node}/${seed}/${"p".repeat(Math.max(0, this.payloadBytes - 64))}`);
      const inner = Buffer.concat([Buffer.from([0x1a]), varint(text.length), text]);
      return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
    });
    return this.otlp[index % this.otlp.length]!;
  }

  /** The payload bytes a call of `kind` carries (what the gateway stores). */
  size(kind: "writearrow" | "write" | "writeraw", index: number): number {
    if (kind === "writearrow") return this.writeArrow(index).ipcBuffer.byteLength;
    if (kind === "write") {
      const w = this.write(index);
      return w.sample.byteLength + w.locations.byteLength;
    }
    return this.writeRaw(index).series[0]!.samples[0]!.rawProfile.byteLength;
  }

  private get stacks(): number {
    return Math.max(1, Math.min(512, Math.round(this.payloadBytes / 256)));
  }

  private many<T>(make: (seed: number) => T): T[] {
    return Array.from({ length: this.variants }, (_, seed) => make(seed));
  }
}

/** Beyond this many agents, agents share payloads (their `node` labels repeat). */
export const MAX_DISTINCT_PAYLOAD_SETS = 512;
/** Up to this many agents, each has 4 variants of each payload; beyond, one. */
const MANY_VARIANTS_UP_TO = 64;

/**
 * The payloads of a fleet, bounded in memory and encoding time: a small fleet gets 4 variants
 * per agent and kind; a large one 1, and beyond 512 agents, agent `i` shares the payloads of
 * agent `i % 512` (10,000 agents at 64 KiB need 32 MiB, not 2.5 GiB, and start in a second).
 * Connections and agent ids (peer addresses) stay per agent.
 */
export class PayloadPool {
  private readonly sets = new Map<number, AgentPayloads>();
  private readonly distinct: number;
  private readonly variants: number;

  constructor(
    agents: number,
    private readonly payloadBytes: number,
  ) {
    this.distinct = Math.max(1, Math.min(agents, MAX_DISTINCT_PAYLOAD_SETS));
    this.variants = agents <= MANY_VARIANTS_UP_TO ? 4 : 1;
  }

  forAgent(index: number): AgentPayloads {
    const key = index % this.distinct;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = new AgentPayloads(`loadgen-node-${key}`, this.payloadBytes, this.variants);
      this.sets.set(key, set);
    }
    return set;
  }
}
