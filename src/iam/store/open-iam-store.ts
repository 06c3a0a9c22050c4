import type { Logger } from "pino";
import type { IamEvents } from "../iam-events.js";
import { EmbeddedIamStore } from "./embedded-store.js";
import type { IamStore } from "./iam-store.js";
import { LocalRateLimiter, type RateLimiter } from "../../ratelimit/rate-limiter.js";
import {
  type ConnectRedisStoreOptions,
  connectRedisStore,
  createRedisClient,
} from "./redis/connect-redis-store.js";
import { RedisRateLimiter } from "./redis/redis-rate-limiter.js";
import { RedisChangeBus } from "./redis/redis-change-bus.js";

export interface IamStoreChoice {
  dataDir: string;
  redisUrl?: string | undefined;
  redisClusterNodes?: readonly string[] | undefined;
  redisKeyPrefix: string;
}

/** An open IAM store, with what else it needs closed on shutdown. */
export interface OpenedIamStore {
  store: IamStore;
  /** Per-project ingestion buckets: in memory, or in Redis shared by the replicas. */
  rateLimiter: RateLimiter;
  kind: "embedded" | "redis" | "redis-cluster";
  close(): Promise<void>;
}

/**
 * Opens the store the configuration selects: Redis Cluster with cluster nodes, Redis with a
 * URL, else the embedded store under the data dir. With Redis, IAM changes travel between
 * replicas, and after a lost connection comes back the local caches drop what they hold.
 */
export async function openIamStore(
  choice: IamStoreChoice,
  events: IamEvents,
  log: Logger,
): Promise<OpenedIamStore> {
  if (choice.redisUrl === undefined && choice.redisClusterNodes === undefined) {
    const store = await EmbeddedIamStore.open(choice.dataDir);
    return { store, rateLimiter: new LocalRateLimiter(), kind: "embedded", close: () => store.close() };
  }
  if (choice.redisUrl !== undefined && choice.redisClusterNodes !== undefined) {
    throw new Error("Set either --redis-url or --redis-cluster-nodes, not both.");
  }
  const connection: ConnectRedisStoreOptions = {
    ...(choice.redisUrl !== undefined
      ? { url: choice.redisUrl }
      : { clusterNodes: choice.redisClusterNodes ?? [] }),
    keyPrefix: choice.redisKeyPrefix,
    onError: (error) => log.debug({ err: error }, "redis connection error"),
  };
  const store = await connectRedisStore(connection);
  const bus = await RedisChangeBus.start({
    connection,
    keyPrefix: choice.redisKeyPrefix,
    events,
    onError: (error) => log.debug({ err: error }, "redis change bus error"),
  });
  const limiterClient = createRedisClient(connection);
  limiterClient.on("error", (error: Error) =>
    log.debug({ err: error }, "redis rate limiter connection error"),
  );
  await limiterClient.connect();
  let warnedAt = 0;
  const rateLimiter = new RedisRateLimiter(limiterClient, choice.redisKeyPrefix, (error) => {
    if (Date.now() - warnedAt < 10_000) return;
    warnedAt = Date.now();
    log.warn({ err: error }, "rate limiting skipped while Redis is unreachable");
  });
  let lost = false;
  store.onAvailabilityChange((available) => {
    if (!available) {
      lost = true;
      log.warn(
        "lost the connection to the Redis IAM store; serving verified principals from cache, reconnecting",
      );
      return;
    }
    if (!lost) return;
    lost = false;
    log.warn(
      "reconnected to the Redis IAM store; dropped cached principals, as changes may have been missed",
    );
    events.publish({ kind: "everything" }, "remote");
  });
  return {
    store,
    rateLimiter,
    kind: choice.redisUrl !== undefined ? "redis" : "redis-cluster",
    async close() {
      await rateLimiter.close();
      await bus.close();
      await store.close();
    },
  };
}
