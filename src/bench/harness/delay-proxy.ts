import { connect, createServer, type Socket } from "node:net";

/** A TCP proxy on loopback that holds every chunk `oneWayMs` in each direction. */
export interface DelayProxy {
  /** `127.0.0.1:<port>` to connect to instead of the target. */
  target: string;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (`host:port`) that adds `oneWayMs` of latency each way, and no
 * bandwidth limit: a long fat network on one machine, where what bounds a transfer is how much
 * the receiver lets the sender have in flight per round trip.
 */
export async function startDelayProxy(target: string, oneWayMs: number): Promise<DelayProxy> {
  const colon = target.lastIndexOf(":");
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWayMs);
    });
    from.on("end", () => setTimeout(() => to.end(), oneWayMs));
  };
  const server = createServer((client) => {
    const upstream = connect({ host, port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on("close", () => {
        sockets.delete(socket);
        setTimeout(() => (socket === client ? upstream : client).destroy(), oneWayMs);
      });
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const boundPort = typeof address === "object" && address !== null ? address.port : 0;
  return {
    target: `127.0.0.1:${boundPort}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
