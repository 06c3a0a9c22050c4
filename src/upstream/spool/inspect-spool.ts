import { open } from "node:fs/promises";
import { join } from "node:path";
import { readFrames } from "../../record-log/segment-reader.js";
import { listProjects, listSegments, segmentPath } from "../../record-log/log-layout.js";
import { readRecords } from "../../record-log/record-reader.js";
import { readCursor } from "./spool-cursor.js";
import { type DeadLetterReason, fromRecord } from "./spooled-call.js";

/** One project's undelivered records. */
export interface ProjectBacklog {
  projectId: string;
  records: number;
  /** Bytes on disk, frames included (what `--spool-max-bytes` bounds). */
  bytes: number;
  /** When the oldest waiting record was received; null when none waits. */
  oldestReceivedAt: number | null;
}

/** One record the upstream refused for good. */
export interface DeadLetterSummary {
  projectId: string;
  method: string;
  receivedAt: number;
  requestBytes: number;
  reason: DeadLetterReason | null;
}

export interface SpoolReport {
  projects: ProjectBacklog[];
  deadLetters: DeadLetterSummary[];
}

/**
 * Reads a spool directory (`<data-dir>/spool`) without changing it, safe while a gateway runs:
 * what waits per project, counted from each cursor, and the dead letters. A torn tail or a
 * record still being written ends a project's count.
 */
export async function inspectSpool(dir: string): Promise<SpoolReport> {
  const queueDir = join(dir, "queue");
  const projects: ProjectBacklog[] = [];
  for (const projectId of await listProjects(queueDir)) {
    const projectDir = join(queueDir, projectId);
    const segments = await listSegments(projectDir);
    const saved = await readCursor(projectDir);
    const from = saved !== null && saved !== "damaged" ? saved : { segment: segments[0] ?? 0, offset: 0 };
    const backlog: ProjectBacklog = { projectId, records: 0, bytes: 0, oldestReceivedAt: null };
    for (const segment of segments) {
      if (segment < from.segment) continue;
      const handle = await open(segmentPath(projectDir, segment), "r").catch(() => undefined);
      if (!handle) continue;
      try {
        const { size } = await handle.stat();
        const start = segment === from.segment ? Math.min(from.offset, size) : 0;
        for await (const frame of readFrames(handle, start, size)) {
          if (frame.kind !== "record") break;
          backlog.records++;
          backlog.bytes += frame.end - frame.offset;
          backlog.oldestReceivedAt ??= frame.record.receivedAt;
        }
      } finally {
        await handle.close();
      }
    }
    projects.push(backlog);
  }
  const deadLetters: DeadLetterSummary[] = [];
  for await (const entry of readRecords(join(dir, "dead-letter"))) {
    if (entry.kind !== "record") continue;
    const call = fromRecord(entry.record);
    deadLetters.push({
      projectId: entry.record.projectId,
      method: entry.record.method,
      receivedAt: entry.record.receivedAt,
      requestBytes: entry.record.payloads[0]?.byteLength ?? 0,
      reason: typeof call === "string" ? null : (call.deadLetter ?? null),
    });
  }
  return { projects, deadLetters };
}
