import { Cluster, Redis } from "ioredis";
import type { RedisClient } from "./lua-script.js";
import { RedisIamStore } from "./redis-iam-store.js";

/** Where and how to connect: exactly one of `url` and `clusterNodes`. */
export interface ConnectRedisStoreOptions {
  /** `redis://[[user]:password@]host:port[/db]`, or `rediss://...` for TLS. */
  url?: string;
  /** A Redis Cluster's seed nodes as `host:port` (the others are discovered). */
  clusterNodes?: readonly string[];
  /** Credentials and TLS of the cluster nodes (a `url` carries its own). */
  username?: string;
  password?: string;
  tls?: boolean;
  /** Prefix of every key (default `profgate:`). */
  keyPrefix?: string;
  /** How long to wait for the first connection before giving up (default 10 s). */
  connectTimeoutMs?: number;
  /** Longest wait for a reply (default 5 s): bounds a peer that vanished without closing the socket. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts (default 2 s); reconnection never gives up. */
  maxReconnectDelayMs?: number;
  /** Connection errors (one per failed reconnection) and errors of availability listeners, for the log. */
  onError?: (error: Error) => void;
}

/**
 * Creates a Redis (or Cluster) client configured for a store that must never make a request
 * wait on a lost connection: no offline queue (a command while disconnected fails at once), no
 * retry of a command that was in flight when the connection dropped, a reply timeout, and
 * reconnection forever with capped exponential backoff. Connects lazily: see `connectRedisStore`.
 */
export function createRedisClient(options: ConnectRedisStoreOptions): RedisClient {
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const backoff = (attempt: number) => {
    const delay = Math.min(maxDelay, 50 * 2 ** Math.min(attempt - 1, 16));
    return Math.round(delay / 2 + (Math.random() * delay) / 2);
  };
  const common = {
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
  };
  if (options.url !== undefined && options.clusterNodes === undefined) {
    return new Redis(options.url, {
      ...common,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: backoff,
    });
  }
  if (options.clusterNodes !== undefined && options.url === undefined && options.clusterNodes.length > 0) {
    return new Cluster(options.clusterNodes.map(parseNode), {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      redisOptions: {
        ...common,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.tls ? { tls: {} } : {}),
      },
    });
  }
  throw new Error("Redis store: give either a url or a non-empty list of cluster nodes, not both.");
}

/**
 * Connects to Redis and returns a store that owns the connection (closed by `store.close()`).
 * Rejects, naming the address but never the password, when no connection is ready within
 * `connectTimeoutMs`. Once connected, the client reconnects on its own forever.
 */
export async function connectRedisStore(options: ConnectRedisStoreOptions): Promise<RedisIamStore> {
  const client = createRedisClient(options);
  let lastError: Error | undefined;
  client.on("error", (error: Error) => {
    lastError = error;
    options.onError?.(error);
  });
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  let ready: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      ready = resolve;
      timer = setTimeout(() => {
        const why = lastError ? `: ${lastError.message}` : "";
        reject(new Error(`Could not connect to Redis at ${describe(options)} within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      client.once("ready", resolve);
      // Rejects on a failed first attempt; the client keeps retrying until ready or the timeout.
      client.connect().catch((error: unknown) => {
        if (error instanceof Error) lastError = error;
      });
    });
  } catch (error) {
    client.disconnect();
    throw error;
  } finally {
    clearTimeout(timer);
    if (ready) client.off("ready", ready);
  }
  return new RedisIamStore(client, {
    keyPrefix: options.keyPrefix,
    ownsClient: true,
    onListenerError: (error) => options.onError?.(error instanceof Error ? error : new Error(String(error))),
  });
}

function parseNode(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(":");
  const port = Number(node.slice(colon + 1));
  const host = node.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`Redis cluster node ${JSON.stringify(node)} is not host:port.`);
  }
  return { host, port };
}

/** The address without credentials, for messages. */
function describe(options: ConnectRedisStoreOptions): string {
  if (options.clusterNodes) return `cluster ${options.clusterNodes.join(",")}`;
  try {
    const url = new URL(options.url ?? "");
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return "(unparsable url)";
  }
}
