import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/** A standalone Redis connection or a Cluster client: the store works the same on both. */
export type RedisClient = Redis | Cluster;

/** A Lua script and its SHA-1, run with EVALSHA (EVAL once when the server does not have it yet). */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

export function luaScript(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/**
 * Runs `script` with `keys` (every key it touches: a Cluster routes by them and refuses keys of
 * two slots) and `args`. A server that does not know the script yet (first use, restart,
 * failover, SCRIPT FLUSH) answers NOSCRIPT, and gets the source once.
 */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}
