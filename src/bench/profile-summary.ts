import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One function's or one component's share of the sampled CPU time. */
export interface ProfileEntry {
  name: string;
  /** Milliseconds of self time. */
  selfMs: number;
  /** Share of the busy (non-idle) time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled time, idle included. */
  totalMs: number;
  busyMs: number;
  functions: ProfileEntry[];
  /** Self time per component: profgate, a package under node_modules, node internals, GC, ... */
  components: ProfileEntry[];
}

const IDLE = "(idle)";

/** The component a function belongs to, from its script URL. */
export function componentOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith("node:")) return "node internals";
  if (/\/dist\//.test(url)) return `profgate ${/\/dist\/([^/]+)/.exec(url)?.[1] ?? ""}`.trim();
  return "other";
}

function keyOf(frame: CallFrame): string {
  const where = frame.url === "" ? "" : ` ${basename(frame.url)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"}${where}`;
}

function top(map: Map<string, number>, busyMs: number, limit: number): ProfileEntry[] {
  return [...map]
    .filter(([name]) => name !== IDLE)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, selfMs]) => ({ name, selfMs, share: busyMs > 0 ? selfMs / busyMs : 0 }));
}

/**
 * Self time per function and per component of a V8 `.cpuprofile` (what `node --cpu-prof`
 * writes), from its samples and their time deltas; samples of the first `skipMs` (start-up,
 * module loading) are left out.
 */
export async function summarizeProfile(file: string, limit = 25, skipMs = 0): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byComponent = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  let elapsedMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i]!);
    // A sample's time is the delta to the next sample.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    elapsedMs += (profile.timeDeltas[i] ?? 0) / 1000;
    if (!frame || elapsedMs < skipMs) continue;
    totalMs += ms;
    if (frame.functionName === IDLE) {
      idleMs += ms;
      continue;
    }
    const key = keyOf(frame);
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    const component = componentOf(frame);
    byComponent.set(component, (byComponent.get(component) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  return {
    file,
    totalMs,
    busyMs,
    functions: top(byFunction, busyMs, limit),
    components: top(byComponent, busyMs, limit),
  };
}

/** The summary as text: components, then the top functions by self time. */
export function formatProfileSummary(s: ProfileSummary): string {
  const row = (e: ProfileEntry) =>
    `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`;
  return [
    `${basename(s.file)}: ${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s sampled`,
    "by component (self time, share of busy time):",
    ...s.components.map(row),
    "top functions (self time):",
    ...s.functions.map(row),
  ].join("\n");
}

/** `node dist/bench/profile-summary.js FILE.cpuprofile... [--top N] [--skip-ms MS]` */
async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, "skip-ms": { type: "string", default: "0" } },
  });
  if (positionals.length === 0) {
    process.stderr.write(
      "usage: node dist/bench/profile-summary.js FILE.cpuprofile... [--top N] [--skip-ms MS]\n",
    );
    process.exitCode = 2;
    return;
  }
  for (const file of positionals) {
    const summary = await summarizeProfile(file, Number(values.top), Number(values["skip-ms"]));
    process.stdout.write(`${formatProfileSummary(summary)}\n\n`);
  }
}

if (process.argv[1]?.endsWith("profile-summary.js")) await main(process.argv.slice(2));
