import { join } from "node:path";
import { invalidArgument } from "../errors.js";
import { readSegment } from "./segment-reader.js";
import type { IngestMethod, IngestRecord } from "./record.js";
import { isSafeProjectId, listProjects, listSegments, segmentPath } from "./log-layout.js";

/** Where an entry sits: the project directory, the segment's sequence number and the byte offset in it. */
export interface SinkLocation {
  projectId: string;
  segment: number;
  offset: number;
}

/**
 * What reading a local sink yields: each valid record, or a `corrupt` entry where a segment
 * holds an invalid frame (the rest of that segment is not read; reading goes on with the next
 * segment).
 */
export type SinkEntry =
  | (SinkLocation & { kind: "record"; record: IngestRecord })
  | (SinkLocation & { kind: "corrupt"; reason: string });

export interface ReadOptions {
  /** Only this project; all projects (sorted by id) when absent. */
  projectId?: string;
}

/**
 * Reads a local sink directory written by `LocalSink`, project by project and in append order
 * within a project (segments ascending). Safe while a writer appends: each segment is read up
 * to its size when opened, and a partial frame at the end of a project's last segment (a write
 * in progress, or a torn tail not yet repaired) ends the project silently. Anything else that
 * is not a valid frame is yielded as a `corrupt` entry. A missing directory yields nothing.
 */
export async function* readRecords(dir: string, options: ReadOptions = {}): AsyncGenerator<SinkEntry> {
  for (const projectId of await selectProjects(dir, options.projectId)) {
    const projectDir = join(dir, projectId);
    const segments = await listSegments(projectDir);
    for (const [index, segment] of segments.entries()) {
      const isLast = index === segments.length - 1;
      for await (const frame of readSegment(segmentPath(projectDir, segment))) {
        if (frame.kind === "record") {
          yield { kind: "record", projectId, segment, offset: frame.offset, record: frame.record };
        } else if (frame.kind === "corrupt" || !isLast) {
          const reason = frame.kind === "corrupt" ? frame.reason : "incomplete frame";
          yield { kind: "corrupt", projectId, segment, offset: frame.offset, reason };
        }
      }
    }
  }
}

/** One record of a project summary, without its payloads. */
export interface RecordSummary {
  receivedAt: number;
  method: IngestMethod;
  serviceAccountId: string;
  tokenId: string;
  payloadBytes: number;
}

/** What a project's part of the sink holds. */
export interface ProjectSummary {
  projectId: string;
  records: number;
  /** Payload bytes of all records (framing and headers excluded). */
  bytes: number;
  segments: number;
  /** Earliest and latest `receivedAt` over the records; null when there are none. */
  firstReceivedAt: number | null;
  lastReceivedAt: number | null;
  /** The last `newest` records appended, most recent first. */
  newest: RecordSummary[];
  corruptions: Array<Omit<SinkLocation, "projectId"> & { reason: string }>;
}

/**
 * Summarizes a local sink directory per project (sorted by id), reading every record once; see
 * {@link readRecords} for what is read and when. Projects with a directory but no records are
 * included with zero counts.
 */
export async function summarizeSink(
  dir: string,
  options: ReadOptions & { newest: number },
): Promise<ProjectSummary[]> {
  const keep = Math.max(0, Math.floor(options.newest));
  const summaries: ProjectSummary[] = [];
  for (const projectId of await selectProjects(dir, options.projectId)) {
    const summary: ProjectSummary = {
      projectId,
      records: 0,
      bytes: 0,
      segments: (await listSegments(join(dir, projectId))).length,
      firstReceivedAt: null,
      lastReceivedAt: null,
      newest: [],
      corruptions: [],
    };
    const recent: RecordSummary[] = [];
    for await (const entry of readRecords(dir, { projectId })) {
      if (entry.kind === "corrupt") {
        summary.corruptions.push({ segment: entry.segment, offset: entry.offset, reason: entry.reason });
        continue;
      }
      const { record } = entry;
      const payloadBytes = record.payloads.reduce((sum, p) => sum + p.byteLength, 0);
      summary.records++;
      summary.bytes += payloadBytes;
      summary.firstReceivedAt = Math.min(summary.firstReceivedAt ?? record.receivedAt, record.receivedAt);
      summary.lastReceivedAt = Math.max(summary.lastReceivedAt ?? record.receivedAt, record.receivedAt);
      const { receivedAt, method, serviceAccountId, tokenId } = record;
      recent.push({ receivedAt, method, serviceAccountId, tokenId, payloadBytes });
      // Trimmed in chunks so that a large `newest` does not cost O(newest) per record.
      if (recent.length >= 2 * keep + 64) recent.splice(0, recent.length - keep);
    }
    summary.newest = keep === 0 ? [] : recent.slice(-keep).reverse();
    summaries.push(summary);
  }
  return summaries;
}

async function selectProjects(dir: string, projectId: string | undefined): Promise<string[]> {
  const projects = await listProjects(dir);
  if (projectId === undefined) return projects;
  if (!isSafeProjectId(projectId)) {
    throw invalidArgument("The project id is not a valid identifier.", "invalid_project_id");
  }
  return projects.includes(projectId) ? [projectId] : [];
}
