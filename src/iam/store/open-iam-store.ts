import type { Logger } from "pino";
import type { IamEvents } from "../iam-events.js";
import { EmbeddedIamStore } from "./embedded-store.js";
import type { IamStore } from "./iam-store.js";
import { type ConnectRedisStoreOptions, connectRedisStore } from "./redis/connect-redis-store.js";
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
  kind: "embedded" | "redis" | "redis-cluster";
  close(): Promise<void>;
}

/** Where the Redis of `choice` is, when it names one: a URL or Cluster nodes, and the key prefix. */
export function redisConnection(
  choice: IamStoreChoice,
): Pick<ConnectRedisStoreOptions, "url" | "clusterNodes" | "keyPrefix"> {
  return {
    ...(choice.redisUrl !== undefined
      ? { url: choice.redisUrl }
      : { clusterNodes: choice.redisClusterNodes ?? [] }),
    keyPrefix: choice.redisKeyPrefix,
  };
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
    return { store, kind: "embedded", close: () => store.close() };
  }
  if (choice.redisUrl !== undefined && choice.redisClusterNodes !== undefined) {
    throw new Error("Set either --redis-url or --redis-cluster-nodes, not both.");
  }
  const connection: ConnectRedisStoreOptions = {
    ...redisConnection(choice),
    onError: (error) => log.debug({ err: error }, "redis connection error"),
  };
  const store = await connectRedisStore(connection);
  const bus = await RedisChangeBus.start({
    connection,
    keyPrefix: choice.redisKeyPrefix,
    events,
    onError: (error) => log.debug({ err: error }, "redis change bus error"),
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
    kind: choice.redisUrl !== undefined ? "redis" : "redis-cluster",
    async close() {
      await bus.close();
      await store.close();
    },
  };
}
