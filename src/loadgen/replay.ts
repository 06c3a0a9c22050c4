import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { AgentClient } from "../agent-sim/agent-client.js";
import { readRecords } from "../record-log/record-reader.js";
import { listProjects } from "../record-log/log-layout.js";
import { type IngestRecord, METHOD_PATHS } from "../record-log/record.js";
import { CallStats, type StatsSnapshot } from "./call-stats.js";

export interface ReplayOptions {
  /** A gateway's data dir; its local sink is replayed. */
  from: string;
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

async function firstReceivedAt(sinkDir: string, projects: string[]): Promise<number> {
  let first = Number.POSITIVE_INFINITY;
  for (const projectId of projects) {
    for await (const entry of readRecords(sinkDir, { projectId })) {
      if (entry.kind === "record") first = Math.min(first, entry.record.receivedAt);
      break;
    }
  }
  return first;
}

/**
 * Replays what a gateway recorded in its local sink against `target`: every project's records in
 * their recorded order (one call at a time per project, projects in parallel), the payload bytes
 * exactly as recorded (the Write exchange too: the recorded locations answer the target's
 * request), with the caller's credentials and mapped project ids, at the original timing scaled
 * by `speed`.
 */
export async function replay(options: ReplayOptions): Promise<StatsSnapshot & { projects: number }> {
  const sinkDir = join(options.from, "sink");
  const projects = await listProjects(sinkDir);
  const stats = new CallStats();
  const origin = await firstReceivedAt(sinkDir, projects);
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
          for await (const entry of readRecords(sinkDir, { projectId })) {
            if (entry.kind !== "record") continue;
            const record = entry.record;
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
