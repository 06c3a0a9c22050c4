import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { invalidArgument, unavailable } from "../errors.js";
import { safeServerUrl } from "./jetstream-settings.js";

/** A stream named on the command line: `nats://[user:password@]host:port[/stream]` (stream default `profgate`). */
export interface StreamLocation {
  server: string;
  stream: string;
}

/** Reads `nats://host:port/stream` (or `tls://`); throws invalid_argument naming what is wrong. */
export function parseStreamLocation(raw: string): StreamLocation {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidArgument(`Expected nats://host:port[/stream], not ${JSON.stringify(safeServerUrl(raw))}.`);
  }
  if (!["nats:", "tls:"].includes(url.protocol) || !url.hostname) {
    throw invalidArgument("Expected nats://host:port[/stream] or tls://host:port[/stream].");
  }
  const stream = url.pathname.replace(/^\/+|\/+$/g, "") || "profgate";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream))
    throw invalidArgument(`Not a stream name: ${JSON.stringify(stream)}.`);
  url.pathname = "";
  return { server: url.toString().replace(/\/$/, ""), stream };
}

/** An open connection to a location's server, for the command line's readers. */
export interface StreamHandle extends StreamLocation {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

export async function openStreamLocation(location: StreamLocation): Promise<StreamHandle> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: location.server, timeout: 5000 });
  } catch (error) {
    throw unavailable(`Cannot connect to ${safeServerUrl(location.server)}: ${(error as Error).name}.`);
  }
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.info(location.stream);
    return { ...location, nc, js: jetstream(nc), jsm, close: () => nc.close() };
  } catch (error) {
    await nc.close();
    throw unavailable(
      `No JetStream stream ${location.stream} at ${safeServerUrl(location.server)}: ${(error as Error).message}.`,
    );
  }
}
