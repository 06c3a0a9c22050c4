import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { WriteRawRequestSchema } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { ReportPanicRequestSchema } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import {
  locationsRecordStacktraceIds,
  sampleRecordStacktraceIds,
  schemaVersion,
} from "../../src/ingest/arrow/index.js";
import { readRecords } from "../../src/record-log/record-reader.js";
import type { IngestRecord } from "../../src/record-log/record.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Why one stored record is not what the gateway may store, or undefined when it is fine. */
export function recordProblem(record: IngestRecord): string | undefined {
  try {
    for (const id of [record.organizationId, record.projectId, record.serviceAccountId, record.tokenId]) {
      if (!UUID.test(id)) return `an origin id is not a UUID: ${JSON.stringify(id)}`;
    }
    const [first, second, ...rest] = record.payloads;
    if (first === undefined) return "no payload";
    switch (record.method) {
      case "WriteArrow": {
        if (second !== undefined) return "WriteArrow with more than one payload";
        schemaVersion(first);
        return undefined;
      }
      case "WriteRaw": {
        if (second !== undefined) return "WriteRaw with more than one payload";
        const request = fromBinary(WriteRawRequestSchema, first);
        if (request.series.length === 0) return "WriteRaw without series";
        for (const series of request.series) {
          if (!(series.labels?.labels ?? []).some((l) => l.name === "__name__"))
            return "a series without __name__";
          if (series.samples.length === 0 || series.samples.some((s) => s.rawProfile.length === 0))
            return "a series without samples";
        }
        return undefined;
      }
      case "Write": {
        if (rest.length > 0) return "Write with more than two payloads";
        const ids = sampleRecordStacktraceIds(first);
        if (second === undefined) return ids.length === 0 ? undefined : "Write without its locations record";
        locationsRecordStacktraceIds(second);
        return undefined;
      }
      case "ReportPanic": {
        if (second !== undefined) return "ReportPanic with more than one payload";
        fromBinary(ReportPanicRequestSchema, first);
        return undefined;
      }
      default:
        return `unknown method ${JSON.stringify(record.method)}`;
    }
  } catch (error) {
    return `${record.method} payload does not decode: ${(error as Error).message}`;
  }
}

/**
 * Reads every record of a data dir's local sink and checks each decodes as what its method
 * stores (see {@link recordProblem}). Returns the records and the problems found, corrupt
 * frames included.
 */
export async function validateSink(
  dataDir: string,
): Promise<{ records: IngestRecord[]; problems: string[] }> {
  const records: IngestRecord[] = [];
  const problems: string[] = [];
  for await (const entry of readRecords(join(dataDir, "sink"))) {
    if (entry.kind === "corrupt") {
      problems.push(`corrupt frame in ${entry.projectId} segment ${entry.segment}: ${entry.reason}`);
      continue;
    }
    records.push(entry.record);
    const problem = recordProblem(entry.record);
    if (problem) problems.push(`${entry.projectId} segment ${entry.segment} @${entry.offset}: ${problem}`);
  }
  return { records, problems };
}

/**
 * Checks the debuginfo folder: every `state.json` parses, an `uploaded` one has its data file
 * of exactly the announced size, and no `.part` file is left (call it when no upload is open).
 */
export async function validateDebuginfo(dataDir: string): Promise<string[]> {
  const problems: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const names = entries.map((e) => e.name);
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(dir, entry.name));
      if (entry.name.endsWith(".part")) problems.push(`left-over part file ${join(dir, entry.name)}`);
    }
    if (!names.includes("state.json")) return;
    try {
      const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as {
        state: string;
        uploadId: string;
        size: number;
      };
      if (state.state === "uploaded") {
        const data = join(dir, `upload-${state.uploadId}.data`);
        const size = (await stat(data)).size;
        if (size !== state.size) problems.push(`${data} holds ${size} bytes, ${state.size} announced`);
      }
    } catch (error) {
      problems.push(`${dir}: ${(error as Error).message}`);
    }
  };
  await walk(join(dataDir, "debuginfo"));
  return problems;
}
