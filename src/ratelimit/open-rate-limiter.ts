import type { Logger } from "pino";
import { createRedisClient } from "../iam/store/redis/connect-redis-store.js";
import { type IamStoreChoice, redisConnection } from "../iam/store/open-iam-store.js";
import { LocalRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { RedisRateLimiter } from "./redis-rate-limiter.js";

/**
 * The per-project ingestion buckets: in memory beside the embedded store, or in the same Redis
 * as the IAM store (own connection), shared by every replica. While Redis is unreachable, writes
 * are let through and a warning is logged at most every 10 s.
 */
export async function openRateLimiter(choice: IamStoreChoice, log: Logger): Promise<RateLimiter> {
  if (choice.redisUrl === undefined && choice.redisClusterNodes === undefined) return new LocalRateLimiter();
  const client = createRedisClient(redisConnection(choice));
  client.on("error", (error: Error) => log.debug({ err: error }, "redis rate limiter connection error"));
  await client.connect();
  let warnedAt = 0;
  return new RedisRateLimiter(client, choice.redisKeyPrefix, (error) => {
    if (Date.now() - warnedAt < 10_000) return;
    warnedAt = Date.now();
    log.warn({ err: error }, "rate limiting skipped while Redis is unreachable");
  });
}
