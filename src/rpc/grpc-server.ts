import { Server, type ServerInterceptor } from "@grpc/grpc-js";
import type { GatedListener } from "./gated-listener.js";

/** A grpc-js server with profgate's limits and interceptors (the first runs first). */
export function createGrpcServer(options: {
  interceptors: ServerInterceptor[];
  maxReceiveBytes?: number;
  /** Connections older than this are closed after a grace period, so they rebalance; 0: never. */
  maxConnectionAgeMs?: number;
  /** Connections without a call for this long are closed; 0: never. */
  maxConnectionIdleMs?: number;
  maxConcurrentStreams?: number;
}): Server {
  return new Server({
    // Bounds on what a client controls: header size, streams per connection, dead peers.
    "grpc.max_metadata_size": 16 * 1024,
    "grpc.max_concurrent_streams": options.maxConcurrentStreams ?? 32,
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // Nothing serves channelz here; its per-call bookkeeping would be pure cost.
    "grpc.enable_channelz": 0,
    ...(options.maxConnectionIdleMs ? { "grpc.max_connection_idle_ms": options.maxConnectionIdleMs } : {}),
    ...(options.maxReceiveBytes ? { "grpc.max_receive_message_length": options.maxReceiveBytes } : {}),
    ...(options.maxConnectionAgeMs
      ? {
          "grpc.max_connection_age_ms": options.maxConnectionAgeMs,
          "grpc.max_connection_age_grace_ms": 30_000,
        }
      : {}),
    interceptors: options.interceptors,
  });
}

/**
 * Stops accepting on `listeners` and waits for the calls of `servers` in flight; after `graceMs`,
 * cuts off what is left. grpc-js without channelz leaves its connections open on a forced
 * shutdown, and knows nothing of a connection still in its TLS handshake, so the listeners,
 * which own the sockets, close whatever is left at the end. Resolves `forced` when it had to.
 */
export async function stopServers(
  servers: Server[],
  listeners: GatedListener[],
  graceMs: number,
): Promise<{ forced: boolean }> {
  const closing = Promise.all(listeners.map((listener) => listener.close()));
  const destroyAll = () => {
    for (const listener of listeners) listener.destroyAll();
  };
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    for (const server of servers) server.forceShutdown();
    destroyAll();
  }, graceMs);
  await Promise.all(servers.map((server) => new Promise<void>((done) => server.tryShutdown(() => done()))));
  clearTimeout(timer);
  destroyAll();
  await closing;
  return { forced };
}
