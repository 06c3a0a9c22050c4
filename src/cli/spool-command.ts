import { join } from "node:path";
import { parseArgs } from "node:util";
import { invalidArgument } from "../errors.js";
import { summarizeSink } from "../record-log/record-reader.js";
import { inspectStream } from "../jetstream/inspect-stream.js";
import { openStreamLocation, parseStreamLocation } from "../jetstream/stream-location.js";
import { inspectSpool } from "../upstream/spool/inspect-spool.js";
import { fail } from "./command.js";

const SPOOL_USAGE =
  "Usage: profgate spool ls [--project ID] [--data-dir DIR] [--newest N] [-o table|json]\n" +
  "       profgate spool backlog [--data-dir DIR] [-o table|json]\n" +
  "       profgate spool ls|backlog --from nats://HOST:PORT[/STREAM] [-o table|json]   (a JetStream stream)";

const iso = (ms: number | null | undefined) => (ms == null ? "-" : new Date(ms).toISOString());

/** `profgate spool ls`: records and bytes per project in the local sink, and the newest records. */
export async function runSpool(args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  if (verb === "backlog") return runSpoolBacklog(rest);
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    process.stdout.write(`${SPOOL_USAGE}\n`);
    return;
  }
  if (verb !== "ls") return fail(`Unknown command "spool ${verb}".\n${SPOOL_USAGE}`, 2);
  const { values } = parseArgs({
    args: rest,
    options: {
      from: { type: "string" },
      project: { type: "string" },
      "data-dir": { type: "string", default: process.env["PROFGATE_DATA_DIR"] ?? "./data" },
      newest: { type: "string", default: "5" },
      output: { type: "string", short: "o", default: "table" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${SPOOL_USAGE}\n`);
    return;
  }
  const newest = Number(values.newest);
  if (!Number.isInteger(newest) || newest < 0)
    throw invalidArgument(`--newest must be a whole number, not ${JSON.stringify(values.newest)}.`);
  if (values.from !== undefined) return printStream(values.from, values.output, "ls");
  const summaries = await summarizeSink(join(values["data-dir"], "sink"), {
    ...(values.project ? { projectId: values.project } : {}),
    newest,
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
        `  ${iso(r.receivedAt)}  ${r.method.padEnd(14)}  ${String(r.payloadBytes).padStart(10)} B  service account ${r.serviceAccountId}  token ${r.tokenId}\n`,
      );
    }
  }
}

/**
 * `profgate spool backlog`: in upstream mode with `--spool`, what waits for the upstream per
 * project (records, bytes, oldest) and the dead letters the upstream refused.
 */
async function runSpoolBacklog(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      "data-dir": { type: "string", default: process.env["PROFGATE_DATA_DIR"] ?? "./data" },
      output: { type: "string", short: "o", default: "table" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${SPOOL_USAGE}\n`);
    return;
  }
  if (values.from !== undefined) return printStream(values.from, values.output, "backlog");
  const report = await inspectSpool(join(values["data-dir"], "spool"));
  if (values.output === "json") {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const waiting = report.projects.filter((p) => p.records > 0);
  if (waiting.length === 0) process.stdout.write("Nothing waits for the upstream.\n");
  for (const p of waiting) {
    process.stdout.write(
      `project ${p.projectId}: ${p.records} records, ${p.bytes} bytes waiting since ${iso(p.oldestReceivedAt)}\n`,
    );
  }
  process.stdout.write(`${report.deadLetters.length} dead letters\n`);
  for (const d of report.deadLetters.slice(-5)) {
    const reason = d.reason ? `code ${d.reason.code}: ${d.reason.details}` : "unreadable";
    process.stdout.write(
      `  ${iso(d.receivedAt)}  ${d.method.padEnd(14)}  project ${d.projectId}  ${reason}\n`,
    );
  }
}

/**
 * `spool ls|backlog --from nats://...`: a JetStream stream's messages per project, and what its
 * `--spool jetstream` forwarding consumer has not delivered yet. Only reads.
 */
async function printStream(from: string, output: string | undefined, verb: "ls" | "backlog"): Promise<void> {
  const handle = await openStreamLocation(parseStreamLocation(from));
  try {
    const report = await inspectStream(handle);
    if (output === "json") {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `stream ${report.stream}: ${report.messages} messages, ${report.bytes} bytes, ${report.firstAt ?? "-"} .. ${report.lastAt ?? "-"}\n`,
    );
    if (verb === "ls") {
      for (const p of report.projects) {
        process.stdout.write(
          `project ${p.projectId} (organization ${p.organizationId}): ${p.messages} messages\n`,
        );
      }
      return;
    }
    const f = report.forwarding;
    process.stdout.write(
      f === null
        ? "No edge forwards from this stream.\n"
        : `${f.pending + f.unacknowledged} messages wait for the upstream (${f.unacknowledged} being delivered, ${f.redelivered} redelivered)\n`,
    );
    process.stdout.write(`${report.deadLetters} dead letters\n`);
  } finally {
    await handle.close();
  }
}
