import type { ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  endRedis,
  freePort,
  launchRedis,
  launchRedisOnFreePort,
  redisCli,
  run,
  waitFor,
} from "../../src/bench/harness/redis-process.js";
import { tempDir } from "./temp-dir.js";

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

/**
 * A fresh redis-server on 127.0.0.1 in a temporary directory; without persistence unless
 * `persistent` (an append-only file fsynced on every write, so a killed and restarted server
 * keeps its data, as a production Redis would).
 */
export async function startRedisServer(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  const dir = await tempDir("profgate-redis-");
  const extra = options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : [];
  const started = await launchRedisOnFreePort(dir.path, async () => extra).catch(async (error: unknown) => {
    await dir.remove();
    throw error;
  });
  const port = started.port;
  let child = started.child;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await endRedis(child);
      await dir.remove();
    },
    kill: () => endRedis(child),
    async restart() {
      await endRedis(child);
      child = await launchRedis(port, dir.path, extra);
    },
  };
}

/** A Redis Cluster of `masters` redis-server processes (no replicas), ready (`cluster_state:ok`). */
export async function startRedisCluster(options: { masters: number }): Promise<RedisCluster> {
  const dir = await tempDir("profgate-redis-cluster-");
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(endRedis));
    await dir.remove();
  };
  try {
    const ports = await Promise.all(
      Array.from({ length: options.masters }, async (_, i) => {
        const nodeDir = join(dir.path, `node-${i}`);
        await mkdir(nodeDir);
        // The bus port would default to port + 10000, which may be taken or above 65535.
        const { port, child } = await launchRedisOnFreePort(nodeDir, async () => [
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
      await waitFor(
        async () => (await redisCli(port, "CLUSTER", "INFO")).includes("cluster_state:ok"),
        "cluster",
      );
    }
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
