import { join } from "node:path";
import { parseArgs } from "node:util";
import { summarizeSink } from "../ingest/sink/sink-reader.js";
import { fail } from "./command.js";

const iso = (ms: number | null | undefined) => (ms == null ? "-" : new Date(ms).toISOString());

/** `profgate spool ls`: records and bytes per project in the local sink, and the newest records. */
export async function runSpool(args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  if (verb !== "ls")
    return fail("Usage: profgate spool ls [--project ID] [--data-dir DIR] [--newest N] [-o table|json]");
  const { values } = parseArgs({
    args: rest,
    options: {
      project: { type: "string" },
      "data-dir": { type: "string", default: process.env["PROFGATE_DATA_DIR"] ?? "./data" },
      newest: { type: "string", default: "5" },
      output: { type: "string", short: "o", default: "table" },
    },
  });
  const summaries = await summarizeSink(join(values["data-dir"], "sink"), {
    ...(values.project ? { projectId: values.project } : {}),
    newest: Number(values.newest),
  });
  if (values.output === "json") {
    process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
    return;
  }
  if (summaries.length === 0) {
    process.stdout.write("No records.\n");
    return;
  }
  for (const s of summaries) {
    process.stdout.write(
      `project ${s.projectId}: ${s.records} records, ${s.bytes} payload bytes, ${s.segments} segments, ` +
        `${iso(s.firstReceivedAt)} .. ${iso(s.lastReceivedAt)}\n`,
    );
    for (const r of s.newest) {
      process.stdout.write(
        `  ${iso(r.receivedAt)}  ${r.method.padEnd(11)}  ${String(r.payloadBytes).padStart(10)} B  service account ${r.serviceAccountId}  token ${r.tokenId}\n`,
      );
    }
  }
}
