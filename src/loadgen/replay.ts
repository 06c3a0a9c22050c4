import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { AgentClient } from "../agent-sim/agent-client.js";
import { readRecords } from "../record-log/record-reader.js";
import { listProjects } from "../record-log/log-layout.js";
import { type IngestRecord, METHOD_PATHS } from "../record-log/record.js";
import { CallStats, type StatsSnapshot } from "./call-stats.js";

/** Where recorded traffic is read from: a local sink, or a JetStream stream. */
export interface RecordSource {
  /** Every recorded project id. */
  projects(): Promise<string[]>;
  /** A project's records in their recorded order. */
  records(projectId: string): AsyncIterable<IngestRecord>;
}

/** The local sink of the data dir `dataDir`. */
export function sinkSource(dataDir: string): RecordSource {
  const sinkDir = join(dataDir, "sink");
  return {
    projects: () => listProjects(sinkDir),
    async *records(projectId) {
      for await (const entry of readRecords(sinkDir, { projectId })) {
        if (entry.kind === "record") yield entry.record;
      }
    },
  };
}

export interface ReplayOptions {
  /** What is replayed. */
  from: RecordSource;
  target: string;
  channel: ChannelCredentials;
  channelOptions: Record<string, unknown>;
  token: string;
  /** Recorded project id -> target project id; unmapped ids are kept. */
  projectMap: ReadonlyMap<string, string>;
  /** 1: original timing; 10: ten times faster; "max": as fast as possible. */
  speed: number | "max";
  timeoutMs: number;
  reportEveryMs: number;
  onReport: (interval: StatsSnapshot) => void;
}

async function send(client: AgentClient, record: IngestRecord, timeoutMs: number): Promise<void> {
  const options = { deadline: Date.now() + timeoutMs };
  const [first = new Uint8Array(), second = new Uint8Array()] = record.payloads;
  if (record.method === "WriteArrow") return client.writeArrow(first, options);
  if (record.method === "Write") {
    await client.write(first, () => second, options);
    return;
  }
  // WriteRaw, ReportPanic and the OTLP Exports: the stored payload is the request as received.
  await client.unaryRaw(METHOD_PATHS[record.method], first, options);
}

async function firstReceivedAt(source: RecordSource, projects: string[]): Promise<number> {
  let first = Number.POSITIVE_INFINITY;
  for (const projectId of projects) {
    for await (const record of source.records(projectId)) {
      first = Math.min(first, record.receivedAt);
      break;
    }
  }
  return first;
}

/**
 * Replays what a gateway recorded (its local sink, or a JetStream stream) against `target`: every project's records in
 * their recorded order (one call at a time per project, projects in parallel), the payload bytes
 * exactly as recorded (the Write exchange too: the recorded locations answer the target's
 * request), with the caller's credentials and mapped project ids, at the original timing scaled
 * by `speed`.
 */
export async function replay(options: ReplayOptions): Promise<StatsSnapshot & { projects: number }> {
  const projects = await options.from.projects();
  const stats = new CallStats();
  const origin = await firstReceivedAt(options.from, projects);
  const started = performance.now();
  const reporter = setInterval(() => options.onReport(stats.interval()), options.reportEveryMs);
  try {
    await Promise.all(
      projects.map(async (projectId) => {
        const client = new AgentClient(
          options.target,
          { token: options.token, projectId: options.projectMap.get(projectId) ?? projectId },
          options.channel,
          options.channelOptions,
        );
        try {
          for await (const record of options.from.records(projectId)) {
            if (options.speed !== "max") {
              const due = started + (record.receivedAt - origin) / options.speed;
              await sleep(Math.max(0, due - performance.now()));
            }
            const bytes = record.payloads.reduce((n, p) => n + p.byteLength, 0);
            const callStarted = performance.now();
            try {
              await send(client, record, options.timeoutMs);
              stats.record(record.method, 0, performance.now() - callStarted, bytes);
            } catch (error) {
              stats.record(
                record.method,
                (error as { code?: number }).code ?? 2,
                performance.now() - callStarted,
                bytes,
              );
            }
          }
        } finally {
          client.close();
        }
      }),
    );
  } finally {
    clearInterval(reporter);
  }
  return { ...stats.summary(), projects: projects.length };
}
