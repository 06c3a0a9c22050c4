import { once } from "node:events";
import { connect as connectHttp2, type SecureClientSessionOptions } from "node:http2";
import { connect, type Socket } from "node:net";
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { type GatedListener, listenGated } from "../../src/edge/gated-listener.js";
import type { ReceiveWindows } from "../../src/edge/grpc-internals.js";
import { createCa, issue } from "../support/certificates.js";
import { tempDir } from "../support/temp-dir.js";
import { healthService } from "../../src/observability/health-service.js";
import { HealthStatus } from "../../src/observability/health-status.js";
import { serviceDefinition } from "../../src/rpc/service-definition.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";

type HealthClient = Client & {
  check(request: { service: string }, callback: (e: ServiceError | null) => void): void;
};

/** A Health client of `target`, and its Check as a status code. */
function healthClient(target: string) {
  const Ctor = makeGenericClientConstructor(serviceDefinition(Health), "Health");
  const client = new Ctor(target, credentials.createInsecure()) as unknown as HealthClient;
  const check = () =>
    new Promise<number>((resolve) => client.check({ service: "" }, (e) => resolve(e ? e.code : status.OK)));
  return { check, close: () => client.close() };
}

/** A raw TCP connection from `localAddress`; resolves once connected. */
async function tcp(port: number, localAddress: string, host = "127.0.0.1"): Promise<Socket> {
  const socket = connect({ host, port, localAddress });
  socket.on("error", () => {});
  // Read, so that the server's close is seen.
  socket.resume();
  await once(socket, "connect");
  return socket;
}

describe("the gated gRPC listener", () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function serve(
    host: string,
    refused: Set<string>,
    seen: string[] = [],
    extra: { receiveWindows?: ReceiveWindows; credentials?: ServerCredentials } = {},
  ) {
    const server = new Server();
    const health = healthService(new HealthStatus());
    server.addService(health.definition, health.implementation);
    const listener: GatedListener = await listenGated(
      server,
      { host, port: 0 },
      extra.credentials ?? ServerCredentials.createInsecure(),
      {
        refuse: (address) => refused.has(address),
        onRefused: (address) => seen.push(address),
        receiveWindows: extra.receiveWindows,
      },
    );
    cleanups.push(() => {
      const closing = listener.close();
      server.forceShutdown();
      listener.destroyAll();
      return closing;
    });
    return { server, listener };
  }

  it("serves gRPC, refuses what `refuse` says at accept, and cuts off one address's connections", async () => {
    const refused = new Set(["127.0.0.3"]);
    const seen: string[] = [];
    const { listener } = await serve("127.0.0.1", refused, seen);
    const port = listener.address.port;
    expect(port).toBeGreaterThan(0);

    const client = healthClient(`127.0.0.1:${port}`);
    cleanups.push(() => client.close());
    expect(await client.check()).toBe(status.OK);

    const refusedSocket = await tcp(port, "127.0.0.3");
    await once(refusedSocket, "close");
    expect(seen).toEqual(["127.0.0.3"]);

    const a = await tcp(port, "127.0.0.2");
    const b = await tcp(port, "127.0.0.2");
    const other = await tcp(port, "127.0.0.4");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(listener.connections).toBe(4);
    expect(listener.cutOff("127.0.0.2")).toBe(2);
    await Promise.all([once(a, "close"), once(b, "close")]);
    expect(other.destroyed).toBe(false);
    expect(listener.cutOff("127.0.0.9")).toBe(0);
    other.destroy();
    // The gRPC client's connection, from 127.0.0.1, still works.
    expect(await client.check()).toBe(status.OK);
  });

  it("binds every address a host name resolves to, on one port", async () => {
    const { listener } = await serve("localhost", new Set());
    const socket = await tcp(listener.address.port, "127.0.0.1");
    socket.destroy();
    expect(listener.address.host).toBe("localhost");
  });

  it("binds [::] for IPv6 and IPv4 clients alike", async () => {
    const { listener } = await serve("::", new Set(["::ffff:127.0.0.3"]));
    const v6 = await tcp(listener.address.port, "::1", "::1");
    const v4 = await tcp(listener.address.port, "127.0.0.2");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(listener.connections).toBe(2);
    expect(listener.cutOff("::1")).toBe(1);
    expect(listener.cutOff("127.0.0.2")).toBe(1);
    await Promise.all([once(v6, "close"), once(v4, "close")]);
    const refused = await tcp(listener.address.port, "127.0.0.3");
    await once(refused, "close");
  });

  /** What a client may send before the server acknowledges: per stream, and per connection. */
  async function windowsGranted(url: string, options: SecureClientSessionOptions = {}) {
    const session = connectHttp2(url, options);
    session.on("error", () => {});
    cleanups.push(() => session.destroy());
    await once(session, "remoteSettings");
    // The server's WINDOW_UPDATE for the connection follows its SETTINGS; a ping's ack comes after both.
    await new Promise<void>((resolve, reject) =>
      session.ping((error) => (error ? reject(error) : resolve())),
    );
    return { stream: session.remoteSettings.initialWindowSize, connection: session.state.remoteWindowSize };
  }

  it("grants clients the receive windows asked for, over h2c and TLS; Node's 64 KiB without them", async () => {
    const receiveWindows = { streamBytes: 2 * 1024 * 1024, connectionBytes: 8 * 1024 * 1024 };
    const plain = await serve("127.0.0.1", new Set(), [], { receiveWindows });
    expect(await windowsGranted(`http://127.0.0.1:${plain.listener.address.port}`)).toEqual({
      stream: 2 * 1024 * 1024,
      connection: 8 * 1024 * 1024,
    });
    const defaults = await serve("127.0.0.1", new Set());
    expect(await windowsGranted(`http://127.0.0.1:${defaults.listener.address.port}`)).toEqual({
      stream: 65_535,
      connection: 65_535,
    });

    const dir = await tempDir();
    cleanups.push(dir.remove);
    const certificate = await issue(dir.path, await createCa(dir.path, "windows"), "server", "localhost");
    const tls = await serve("127.0.0.1", new Set(), [], {
      receiveWindows,
      credentials: ServerCredentials.createSsl(null, [
        { cert_chain: certificate.cert, private_key: certificate.key },
      ]),
    });
    expect(
      await windowsGranted(`https://localhost:${tls.listener.address.port}`, {
        ca: certificate.ca,
        ALPNProtocols: ["h2"],
      }),
    ).toEqual({ stream: 2 * 1024 * 1024, connection: 8 * 1024 * 1024 });
  });
});
