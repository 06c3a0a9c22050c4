import { join } from "node:path";
import { readRecords } from "../../src/record-log/record-reader.js";
import type { IngestRecord } from "../../src/record-log/record.js";

/** Every record in a data dir's local sink, in order per project; fails on corruption. */
export async function sinkRecords(dataDir: string, projectId?: string): Promise<IngestRecord[]> {
  const records: IngestRecord[] = [];
  for await (const entry of readRecords(join(dataDir, "sink"), projectId ? { projectId } : {})) {
    if (entry.kind !== "record") throw new Error(`corrupt sink entry: ${entry.reason}`);
    records.push(entry.record);
  }
  return records;
}
