import { lookup } from "node:dns/promises";
import { once } from "node:events";
import { createServer, isIP, type Server as NetServer, type Socket } from "node:net";
import type { Server, ServerCredentials } from "@grpc/grpc-js";
import type { HostPort } from "../config/flag-spec.js";
import { clientGroup } from "../iam/cidr.js";

export interface GatedListenerOptions {
  /** Decides, per accepted connection, whether its client address is refused before any byte is read. */
  refuse?(address: string): boolean;
  /** Called for each refused connection. */
  onRefused?(address: string): void;
}

/** A listener whose connections profgate accepts itself before grpc-js sees them. */
export interface GatedListener {
  /** The address actually bound (port 0 picks one). */
  address: HostPort;
  /** Connections open now. */
  readonly connections: number;
  /** Destroys every open connection from `address` (its /64, for IPv6), and returns how many there were. */
  cutOff(address: string): number;
  /** Destroys every open connection (the end of a shutdown's grace period). */
  destroyAll(): void;
  /**
   * Stops accepting. Resolves once every connection has closed: close the gRPC server (which
   * ends its sessions) alongside.
   */
  close(): Promise<void>;
}

/**
 * Listens on `address` with plain TCP listeners and hands each accepted connection to `server`
 * through a grpc-js connection injector, so that a connection from a refused address costs one
 * accept and one close, and every connection of an address can be cut off at once. A host name
 * binds each address it resolves to, as grpc-js does; the port is shared.
 */
export async function listenGated(
  server: Server,
  address: HostPort,
  credentials: ServerCredentials,
  options: GatedListenerOptions = {},
): Promise<GatedListener> {
  const injector = server.createConnectionInjector(credentials);
  const byAddress = new Map<string, Set<Socket>>();
  let open = 0;

  const accept = (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined || options.refuse?.(peer)) {
      socket.destroy();
      if (peer !== undefined) options.onRefused?.(peer);
      return;
    }
    const group = clientGroup(peer);
    let sockets = byAddress.get(group);
    if (sockets === undefined) {
      sockets = new Set();
      byAddress.set(group, sockets);
    }
    sockets.add(socket);
    open++;
    socket.once("close", () => {
      open--;
      sockets.delete(socket);
      if (sockets.size === 0 && byAddress.get(group) === sockets) byAddress.delete(group);
    });
    injector.injectConnection(socket);
  };

  const hosts = isIP(address.host)
    ? [address.host]
    : (await lookup(address.host, { all: true })).map((resolved) => resolved.address);
  const listeners: NetServer[] = [];
  let port = address.port;
  try {
    for (const host of hosts) {
      const listener = createServer(accept);
      listener.listen({ host, port });
      await Promise.race([
        once(listener, "listening"),
        once(listener, "error").then(([error]) => Promise.reject(error)),
      ]);
      listeners.push(listener);
      const bound = listener.address();
      if (port === 0 && bound !== null && typeof bound === "object") port = bound.port;
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    injector.destroy();
    throw error;
  }

  return {
    address: { host: address.host, port },
    get connections() {
      return open;
    },
    cutOff(peer) {
      const sockets = byAddress.get(clientGroup(peer));
      if (sockets === undefined) return 0;
      const count = sockets.size;
      for (const socket of [...sockets]) socket.destroy();
      return count;
    },
    destroyAll() {
      for (const sockets of [...byAddress.values()]) for (const socket of [...sockets]) socket.destroy();
    },
    async close() {
      await Promise.all(
        listeners.map((listener) => new Promise<void>((done) => listener.close(() => done()))),
      );
    },
  };
}
