import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A redis-server of the bench, on a free loopback port, without persistence. */
export interface BenchRedis {
  pid: number;
  port: number;
  url: string;
  /** Calls per command since the server started (INFO commandstats), e.g. `{ get: 12 }`. */
  commandCalls(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

// The server dies with the bench: a small shell kills it when its stdin (our pipe) closes.
const GUARD = `exec 3<&0
redis-server "$@" 3<&- & pid=$!
(cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) &
exec 3<&-
wait $pid`;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

const cli = async (port: number, ...args: string[]) =>
  (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 5000 })).stdout;

export async function startRedis(dir: string): Promise<BenchRedis> {
  await mkdir(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      "sh",
      [
        "-c",
        GUARD,
        "redis-guard",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        join(dir),
        "--maxclients",
        "10000",
      ],
      { stdio: ["pipe", "ignore", "ignore"] },
    );
    const exited = once(child, "exit");
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await cli(port, "PING").catch(() => "")).trim() === "PONG") {
        return {
          pid: child.pid ?? -1,
          port,
          url: `redis://127.0.0.1:${port}`,
          async commandCalls() {
            const calls: Record<string, number> = {};
            for (const m of (await cli(port, "INFO", "commandstats")).matchAll(
              /cmdstat_([^:]+):calls=(\d+)/g,
            )) {
              calls[m[1]!] = Number(m[2]);
            }
            return calls;
          },
          async stop() {
            child.stdin?.end();
            await exited;
          },
        };
      }
      await sleep(25);
    }
    child.stdin?.end();
    await exited;
    if (attempt >= 5)
      throw new Error("redis-server did not start (is it installed? apt-get install redis-server)");
  }
}
