import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext } from "../harness/context.js";
import { CLI, rssBytes, socketCount } from "../harness/processes.js";
import { asAgentOf } from "../harness/loadgen.js";
import type { ScenarioResult } from "../harness/result.js";
import { startProfgate } from "../harness/servers.js";

const LIMIT_BYTES = 64 * 1024;

/**
 * Idle connections: `profgate loadgen --connect-only` opens one connection per agent (TCP and
 * HTTP/2 handshake, no call) and keeps them quiet; the gateway's resident memory grows by what
 * each connection costs it: the RSS after the connections settled, less the RSS just before
 * they were opened, over the sockets the gateway gained (one-time costs such as compiling the
 * HTTP/2 code count against the connections).
 */
export async function idleConnections(ctx: BenchContext): Promise<ScenarioResult> {
  const agents = ctx.smoke ? 200 : 10_000;
  const gateway = await startProfgate(ctx, "idle-gateway");
  let numbers: Record<string, number> = {};
  try {
    await sleep(ctx.smoke ? 500 : 2000);
    const rssBefore = rssBytes(gateway.pid);
    const socketsBefore = socketCount(gateway.pid);
    const child = spawn(
      process.execPath,
      [
        CLI,
        "loadgen",
        "--connect-only",
        ...asAgentOf(gateway),
        "--agents",
        String(agents),
        "--duration",
        "10m",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise((done) => child.once("exit", done));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("loadgen --connect-only did not connect")), 300_000);
        createInterface({ input: child.stdout }).on("line", (l) => {
          if (l.startsWith("connected")) {
            clearTimeout(timer);
            resolve(l);
          }
        });
        child.once("exit", (code) => reject(new Error(`loadgen --connect-only exited (${code})`)));
      });
      ctx.log(`idle: ${line}`);
      // Let the gateway settle (handshakes done, garbage collected), then read it twice.
      await sleep(ctx.smoke ? 500 : 5000);
      const samples = [rssBytes(gateway.pid)];
      await sleep(ctx.smoke ? 500 : 1000);
      samples.push(rssBytes(gateway.pid));
      const connections = socketCount(gateway.pid) - socketsBefore;
      const rssAfter = Math.max(...samples);
      numbers = {
        agents,
        connections,
        rssBeforeBytes: rssBefore,
        rssAfterBytes: rssAfter,
        bytesPerConnection: (rssAfter - rssBefore) / Math.max(1, connections),
        loadgenRssBytes: child.pid ? rssBytes(child.pid) : 0,
      };
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  } finally {
    await gateway.stop();
  }
  const perConnection = numbers["bytesPerConnection"] ?? Number.NaN;
  return {
    name: "idle-connections",
    scenario: `idle connections: ${agents.toLocaleString("en-US")} agents connected, quiet`,
    baseline: "-",
    measured: `${numbers["connections"]} connections; gateway RSS ${((numbers["rssBeforeBytes"] ?? 0) / 1048576).toFixed(0)} -> ${((numbers["rssAfterBytes"] ?? 0) / 1048576).toFixed(0)} MiB`,
    outcome: `${(perConnection / 1024).toFixed(1)} KiB resident per connection`,
    target: "<= 64 KiB per connection",
    pass: (numbers["connections"] ?? 0) >= agents * 0.99 && perConnection <= LIMIT_BYTES,
    numbers,
  };
}
