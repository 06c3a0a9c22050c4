import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { FleetResult } from "../../loadgen/fleet.js";
import { CLI, cpuSeconds } from "./processes.js";

/** The flags that make `profgate loadgen` push to `gateway` as its bootstrap agent. */
export function asAgentOf(gateway: { target: string; agentTokenFile: string; projectId: string }): string[] {
  return ["--target", gateway.target, "--token-file", gateway.agentTokenFile, "--project", gateway.projectId];
}

/** A load generator run, with the CPU the watched server processes used while it measured. */
export interface LoadgenRun {
  result: FleetResult;
  /** CPU seconds per watched pid over the measured window. */
  serverCpuSeconds: number[];
  wallSeconds: number;
}

/**
 * Runs `profgate loadgen ARGS -o json` in its own process and returns its summary. The CPU of
 * `watch` (server pids) is sampled when the load generator says its measured window starts and
 * ends, so warm-up and process start are left out.
 */
export function runLoadgen(args: string[], watch: number[] = [], timeoutMs = 600_000): Promise<LoadgenRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "loadgen", ...args, "-o", "json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    const stderr: string[] = [];
    let startCpu: number[] = [];
    let endCpu: number[] | undefined;
    let startedAt = 0;
    let wallSeconds = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (line === "measuring started") {
        startCpu = watch.map(cpuSeconds);
        startedAt = performance.now();
      } else if (line === "measuring ended") {
        endCpu = watch.map(cpuSeconds);
        wallSeconds = (performance.now() - startedAt) / 1000;
      } else {
        stderr.push(line);
        if (stderr.length > 30) stderr.shift();
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(
          new Error(`profgate loadgen ${args.join(" ")} failed (${code ?? signal}):\n${stderr.join("\n")}`),
        );
        return;
      }
      try {
        const result = JSON.parse(stdout) as FleetResult;
        const end = endCpu ?? watch.map(cpuSeconds);
        resolve({
          result,
          serverCpuSeconds: watch.map((_, i) => (end[i] ?? 0) - (startCpu[i] ?? 0)),
          wallSeconds: wallSeconds || result.seconds,
        });
      } catch (error) {
        reject(new Error(`profgate loadgen printed no summary: ${String(error)}\n${stderr.join("\n")}`));
      }
    });
  });
}
