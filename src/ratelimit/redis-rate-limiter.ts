import type { ProjectLimits } from "../iam/model.js";
import { type Admission, capacityOf, type RateLimiter } from "./rate-limiter.js";
import { luaScript, type RedisClient, runScript } from "../iam/store/redis/lua-script.js";

/**
 * KEYS: the project's bucket. ARGV: bytes per second, capacity, cost. Refills by Redis's own
 * clock (all replicas agree), takes the cost if it fits, and lets an idle bucket expire.
 */
const TAKE = luaScript(
  "rate-limit-take",
  `local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call("HMGET", KEYS[1], "tokens", "at")
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "at", tostring(now))
redis.call("PEXPIRE", KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return allowed`,
);

/**
 * Token buckets in Redis, shared by every replica: one script call per admitted write. When
 * Redis cannot be reached the write is allowed (a rate limit protects capacity; it is no
 * security boundary) and `onError` is told.
 */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  async take(projectId: string, bytes: number, limits: ProjectLimits): Promise<Admission> {
    const capacity = capacityOf(limits);
    if (bytes > capacity) return "too_large";
    try {
      const key = `${this.keyPrefix}ratelimit:{p:${projectId}}`;
      const allowed = await runScript(this.client, TAKE, [key], [limits.bytesPerSecond, capacity, bytes]);
      return Number(allowed) === 1 ? "allowed" : "limited";
    } catch (error) {
      this.onError(error);
      return "allowed";
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => {});
  }
}
