import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../agent-sim/index.js";
import { encodePprof } from "../agent-sim/pprof-profile.js";

/** Ready-made payloads of one agent, so that encoding does not bound the load. */
export interface AgentPayloads {
  writeArrow: Uint8Array[];
  write: Array<{ sample: Uint8Array; locations: Uint8Array }>;
  writeRaw: Array<{
    series: Array<{
      labels: { labels: Array<{ name: string; value: string }> };
      samples: Array<{ rawProfile: Uint8Array }>;
    }>;
  }>;
}

const VARIANTS = 4;

/**
 * Payloads shaped like the agent's, labelled with the agent's `node`: WriteArrow v2 streams
 * (LZ4-framed buffers) padded to about `payloadBytes`, v1 sample records with run-end-encoded
 * stacktrace ids plus their locations records, and gzipped pprof WriteRaw series.
 */
export function agentPayloads(node: string, payloadBytes: number): AgentPayloads {
  const stacks = Math.max(1, Math.min(512, Math.round(payloadBytes / 256)));
  return {
    writeArrow: Array.from({ length: VARIANTS }, () => encodeArrowV2({ labels: { node }, payloadBytes })),
    write: Array.from({ length: VARIANTS }, () => {
      const ids = Array.from({ length: stacks }, randomStacktraceId);
      return {
        sample: encodeSampleRecord({
          labels: { node },
          stacktraceIds: ids,
          stacktraceEncoding: "run-end-encoded",
        }),
        locations: encodeLocationsRecord(ids),
      };
    }),
    writeRaw: Array.from({ length: VARIANTS }, (_, seed) => ({
      series: [
        {
          labels: {
            labels: [
              { name: "__name__", value: "parca_agent_cpu" },
              { name: "node", value: node },
            ],
          },
          samples: [{ rawProfile: encodePprof({ stacks: Math.max(1, Math.round(stacks / 8)), seed }) }],
        },
      ],
    })),
  };
}

export function payloadSize(
  payloads: AgentPayloads,
  kind: "writearrow" | "write" | "writeraw",
  index: number,
): number {
  if (kind === "writearrow") return payloads.writeArrow[index % VARIANTS]!.byteLength;
  if (kind === "write") {
    const w = payloads.write[index % VARIANTS]!;
    return w.sample.byteLength + w.locations.byteLength;
  }
  return payloads.writeRaw[index % VARIANTS]!.series[0]!.samples[0]!.rawProfile.byteLength;
}
