import { lookup } from "node:dns/promises";
import { once } from "node:events";
import { createServer, isIP, type Server as NetServer, type Socket } from "node:net";
import type { Server, ServerCredentials } from "@grpc/grpc-js";
import type { HostPort } from "../config/flag-spec.js";
import { clientGroup } from "../iam/cidr.js";
import {
  type ReceiveWindows,
  type StreamFrontHandler,
  withReceiveWindows,
  withStreamFront,
} from "./grpc-internals.js";

export interface GatedListenerOptions {
  /**
   * Larger receive windows than Node's 64 KiB default, which would let a client send only 64 KiB
   * per round trip (about 1.3 MB/s at 50 ms) however fast its link.
   */
  receiveWindows?: ReceiveWindows;
  /** Decides, per accepted connection, whether its client address is refused before any byte is read. */
  refuse?(address: string): boolean;
  /** Called for each refused connection. */
  onRefused?(address: string): void;
  /** What `cutOff` counts as one client (default `clientGroup`: IPv4 alone, IPv6 by /64). */
  groupOf?(address: string): string;
  /** An error of a listener after it listens (e.g. accept failing for want of file descriptors). */
  onError?(error: Error): void;
  /** Sees every new HTTP/2 stream before grpc-js does (the edge's front gate). */
  front?: StreamFrontHandler;
}

/** A listener whose connections profgate accepts itself before grpc-js sees them. */
export interface GatedListener {
  /** The address actually bound (port 0 picks one). */
  address: HostPort;
  /** Connections open now. */
  readonly connections: number;
  /** Destroys every open connection of `address`'s client group, and returns how many there were. */
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
 * binds each address it resolves to that can be bound (at least one), as grpc-js does; the port
 * is shared.
 */
export async function listenGated(
  server: Server,
  address: HostPort,
  credentials: ServerCredentials,
  options: GatedListenerOptions = {},
): Promise<GatedListener> {
  const hosts = isIP(address.host)
    ? [address.host]
    : [...new Set((await lookup(address.host, { all: true })).map((resolved) => resolved.address))];
  const groupOf = options.groupOf ?? ((peer: string) => clientGroup(peer));
  const { front } = options;
  const inject = () => server.createConnectionInjector(credentials);
  const fronted = front ? () => withStreamFront(server, front, inject) : inject;
  const injector = options.receiveWindows
    ? withReceiveWindows(server, options.receiveWindows, fronted)
    : fronted();
  const byAddress = new Map<string, Set<Socket>>();

  const accept = (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined || options.refuse?.(peer)) {
      socket.destroy();
      if (peer !== undefined) options.onRefused?.(peer);
      return;
    }
    const group = groupOf(peer);
    let sockets = byAddress.get(group);
    if (sockets === undefined) {
      sockets = new Set();
      byAddress.set(group, sockets);
    }
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0 && byAddress.get(group) === sockets) byAddress.delete(group);
    });
    injector.injectConnection(socket);
  };

  const listeners: NetServer[] = [];
  let port = address.port;
  let firstError: unknown;
  for (const host of hosts) {
    try {
      const listener = await listen(accept, host, port);
      listener.on("error", (error) => options.onError?.(error));
      listeners.push(listener);
      const bound = listener.address();
      if (port === 0 && bound !== null && typeof bound === "object") port = bound.port;
    } catch (error) {
      firstError ??= error;
    }
  }
  if (listeners.length === 0) {
    injector.destroy();
    throw firstError;
  }

  return {
    address: { host: address.host, port },
    get connections() {
      let open = 0;
      for (const sockets of byAddress.values()) open += sockets.size;
      return open;
    },
    cutOff(peer) {
      const sockets = byAddress.get(groupOf(peer));
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

/** A TCP listener on `host:port`, listening; rejects with the error that kept it from listening. */
async function listen(accept: (socket: Socket) => void, host: string, port: number): Promise<NetServer> {
  const listener = createServer(accept);
  listener.listen({ host, port });
  try {
    // Rejects with the listener's "error" instead, and leaves no handler behind either way.
    await once(listener, "listening");
  } catch (error) {
    listener.close();
    throw error;
  }
  return listener;
}
