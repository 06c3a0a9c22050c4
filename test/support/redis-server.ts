import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "./temp-dir.js";

const run = promisify(execFile);

/** A redis-server process of the tests. */
export interface RedisServer {
  port: number;
  url: string;
  /** Ends the server for good and removes its directory. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL, a crash); `restart()` brings it back. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (killing it first if it runs), empty. */
  restart(): Promise<void>;
}

/** A Redis Cluster of the tests: masters only, every slot assigned. */
export interface RedisCluster {
  /** `127.0.0.1:<port>` of each master. */
  nodes: string[];
  stop(): Promise<void>;
}

/*
 * redis-server runs under a small shell that kills it when its stdin closes: when this test
 * process ends, however it ends (even SIGKILL), the pipe closes and no server outlives it.
 * Closing stdin is also how kill() works. (A background job's stdin is /dev/null unless
 * redirected explicitly, hence fd 3.)
 */
const GUARD = `exec 3<&0
redis-server "$@" 3<&- & pid=$!
(cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) &
exec 3<&-
wait $pid`;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
    timeout: 5000,
  });
  return stdout;
}

async function waitFor(check: () => Promise<boolean>, what: string, exited?: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited?.()) throw new Error(`${what}: the process exited`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what}: timed out`);
}

/** One redis-server process on `port` with `dir` as its directory, answering PING when returned. */
async function launch(port: number, dir: string, extra: readonly string[]): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn("sh", ["-c", GUARD, "redis-guard", ...args, "--dir", dir, ...extra], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    await waitFor(async () => (await cli(port, "PING")).trim() === "PONG", `redis-server on ${port}`, exited);
  } catch (error) {
    await end(child);
    throw new Error(`${(error as Error).message} ${stderr}`.trim());
  }
  return child;
}

async function end(child: ChildProcess): Promise<void> {
  const running = child.exitCode === null && child.signalCode === null;
  const exit = running ? once(child, "exit") : undefined;
  child.stdin?.end();
  await exit;
}

/** Starts redis-server on a free port; retries with another port if one was taken meanwhile. */
async function startOn(
  dir: string,
  extra: () => Promise<string[]> = async () => [],
): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, child: await launch(port, dir, await extra()) };
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/**
 * A fresh redis-server on 127.0.0.1 in a temporary directory; without persistence unless
 * `persistent` (an append-only file fsynced on every write, so a killed and restarted server
 * keeps its data, as a production Redis would).
 */
export async function startRedisServer(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  const dir = await tempDir("profgate-redis-");
  const extra = options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : [];
  const started = await startOn(dir.path, async () => extra).catch(async (error: unknown) => {
    await dir.remove();
    throw error;
  });
  const port = started.port;
  let child = started.child;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await end(child);
      await dir.remove();
    },
    kill: () => end(child),
    async restart() {
      await end(child);
      child = await launch(port, dir.path, extra);
    },
  };
}

/** A Redis Cluster of `masters` redis-server processes (no replicas), ready (`cluster_state:ok`). */
export async function startRedisCluster(options: { masters: number }): Promise<RedisCluster> {
  const dir = await tempDir("profgate-redis-cluster-");
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(end));
    await dir.remove();
  };
  try {
    const ports = await Promise.all(
      Array.from({ length: options.masters }, async (_, i) => {
        const nodeDir = join(dir.path, `node-${i}`);
        await mkdir(nodeDir);
        // The bus port would default to port + 10000, which may be taken or above 65535.
        const { port, child } = await startOn(nodeDir, async () => [
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(await freePort()),
          "--cluster-config-file",
          join(nodeDir, "nodes.conf"),
          "--cluster-node-timeout",
          "2000",
        ]);
        children.push(child);
        return port;
      }),
    );
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], {
      timeout: 30_000,
    });
    for (const port of ports) {
      await waitFor(async () => (await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok"), "cluster");
    }
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
