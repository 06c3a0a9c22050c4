import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** `dist/`, where the built CLI and the bench entry points are. */
export const DIST = resolve(import.meta.dirname, "../..");
export const CLI = join(DIST, "cli/profgate.js");
export const benchScript = (name: string) => join(DIST, "bench", name);

const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may contain spaces: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** Open sockets of a process. */
export function socketCount(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) sockets++;
    } catch {
      // Closed meanwhile.
    }
  }
  return sockets;
}

/** A child process of the bench whose output goes to a file. */
export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  /** When it was started (`performance.now()` of the bench). */
  spawnedAt: number;
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  script: string;
  args: string[];
  logFile: string;
  /** Write a V8 CPU profile to this directory when the process exits (`node --cpu-prof`). */
  cpuProfileDir?: string | undefined;
  env?: Record<string, string>;
}

/** Starts `node script args` with stdout and stderr appended to `logFile`. */
export function spawnNode(options: SpawnOptions): Child {
  const fd = openSync(options.logFile, "a");
  const nodeArgs = options.cpuProfileDir
    ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${options.name}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...nodeArgs, options.script, ...options.args], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, ...options.env },
  });
  closeSync(fd);
  const exited = new Promise<number | string>((done) =>
    child.once("exit", (code, signal) => done(code ?? signal ?? "unknown")),
  );
  return {
    name: options.name,
    pid: child.pid ?? -1,
    process: child,
    logFile: options.logFile,
    spawnedAt: performance.now(),
    exited,
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The JSON log line of `child` that contains `marker`, once it has been written. */
export async function waitForLine(
  child: Child,
  marker: string,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | string | undefined;
  void child.exited.then((code) => {
    gone = code;
  });
  while (Date.now() < deadline) {
    const text = readFileSync(child.logFile, "utf8");
    for (const line of text.split("\n")) {
      if (!line.includes(marker)) continue;
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { line };
      }
    }
    if (gone !== undefined) break;
    await sleep(50);
  }
  const tail = readFileSync(child.logFile, "utf8").split("\n").slice(-15).join("\n");
  throw new Error(
    `${child.name} ${gone === undefined ? "did not log" : `exited (${gone}) before logging`} "${marker}":\n${tail}`,
  );
}
