import { Server, type ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import { formatHostPort, type HostPort } from "../config/flag-spec.js";

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

/** Listens on `address` (port 0 picks one) and resolves with the address actually bound. */
export function bindServer(
  server: Server,
  address: HostPort,
  credentials: ServerCredentials,
): Promise<HostPort> {
  return new Promise((resolve, reject) =>
    server.bindAsync(formatHostPort(address), credentials, (error, port) =>
      error ? reject(error) : resolve({ host: address.host, port }),
    ),
  );
}

/**
 * Stops accepting calls and waits for those in flight; after `graceMs`, cuts off what is left
 * (grpc-js without channelz leaves its connections open on a forced shutdown: `onForce` is
 * where the owner of the sockets closes them). Resolves `forced` when it had to.
 */
export async function stopServers(
  servers: Server[],
  graceMs: number,
  onForce?: () => void,
): Promise<{ forced: boolean }> {
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    for (const server of servers) server.forceShutdown();
    onForce?.();
  }, graceMs);
  await Promise.all(servers.map((server) => new Promise<void>((done) => server.tryShutdown(() => done()))));
  clearTimeout(timer);
  return { forced };
}
