import { DELETE_IF_EQUAL } from "./iam-scripts.js";
import { type LuaScript, type RedisClient, runScript } from "./lua-script.js";
import type { RedisKeys } from "./redis-keys.js";

/** What the store's parts share: the client, the key names, and running a script. */
export class RedisAccess {
  constructor(
    readonly client: RedisClient,
    readonly keys: RedisKeys,
  ) {}

  script(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return runScript(this.client, script, keys, args);
  }

  /**
   * Removes an index entry if it still holds `value` (an entry re-pointed meanwhile stays).
   * Best effort: a failure leaves a dangling entry, which reads as "unknown".
   */
  async unindex(key: string, value: string): Promise<void> {
    await this.script(DELETE_IF_EQUAL, [key], [value]).catch(() => {});
  }
}
