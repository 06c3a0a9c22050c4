import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";

const SCRIPT = resolve(import.meta.dirname, "hostile-client.mjs");

/** What `hostile-client.mjs` can do to a gRPC port. */
export type Attack = "random-bytes" | "preface-garbage" | "slow-sender" | "abandoned-streams";

/** The counters a hostile client reports when it stops. */
export interface AttackReport {
  attack: Attack;
  connections: number;
  bytesSent: number;
  streamsOpened: number;
  endedByServer: number;
  rstCodes: Record<string, number>;
  errors: Record<string, number>;
}

export interface AttackOptions {
  attack: Attack;
  /** `host:port` of the gRPC listener. */
  target: string;
  /** The longest the attack runs; `stop()` ends it earlier. */
  durationMs?: number;
  /** The source address of the attacker's connections (default: the system's choice). */
  localAddress?: string;
  /** Extra request headers of the HTTP/2 attacks (e.g. a valid authorization). */
  headers?: Record<string, string>;
  path?: string;
  paths?: string[];
  concurrency?: number;
  /** abandoned-streams: hold the streams until stopped (default), or drop and reopen connections. */
  mode?: "hold" | "churn";
  /** abandoned-streams in hold mode: how long opening each connection's streams takes. */
  rampMs?: number;
  streams?: number;
  streamsPerConnection?: number;
  holdMs?: number;
  chunkBytes?: number;
  everyMs?: number;
  maxBytes?: number;
  pauseMs?: number;
}

/** A running hostile client process. */
export interface HostileClient {
  /** Ends the attack and resolves with its counters. */
  stop(): Promise<AttackReport>;
}

/**
 * Starts `hostile-client.mjs` as a child process. It runs in a process of its own so that the
 * attack's work never delays the measuring test's event loop, as with a real remote attacker.
 */
export function startHostileClient(options: AttackOptions): HostileClient {
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify({ durationMs: 120_000, ...options })], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, "exit");
  return {
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      const line = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || line === "") throw new Error(`the hostile client failed (${code}): ${stderr}`);
      return JSON.parse(line) as AttackReport;
    },
  };
}
