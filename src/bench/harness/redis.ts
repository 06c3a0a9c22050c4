import { mkdir } from "node:fs/promises";
import { endRedis, launchRedisOnFreePort, redisCli } from "./redis-process.js";

/** A redis-server of the bench, on a free loopback port, without persistence. */
export interface BenchRedis {
  pid: number;
  port: number;
  url: string;
  /** Calls per command since the server started (INFO commandstats), e.g. `{ get: 12 }`. */
  commandCalls(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startRedis(dir: string): Promise<BenchRedis> {
  await mkdir(dir, { recursive: true });
  const { port, child } = await launchRedisOnFreePort(dir, async () => ["--maxclients", "10000"]).catch(
    (error: unknown) => {
      throw new Error(
        `redis-server did not start (is it installed? apt-get install redis-server): ${String(error)}`,
      );
    },
  );
  return {
    pid: child.pid ?? -1,
    port,
    url: `redis://127.0.0.1:${port}`,
    async commandCalls() {
      const calls: Record<string, number> = {};
      for (const m of (await redisCli(port, "INFO", "commandstats")).matchAll(
        /cmdstat_([^:]+):calls=(\d+)/g,
      )) {
        calls[m[1]!] = Number(m[2]);
      }
      return calls;
    },
    stop: () => endRedis(child),
  };
}
