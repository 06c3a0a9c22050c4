import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Sink } from "../ingest/sink.js";
import type { SpoolPort } from "../upstream/forwarding-deps.js";
import type { Deliver } from "../upstream/spool/spool-drainer.js";
import { JetStreamForwarder } from "./jetstream-forwarder.js";
import { createJetStreamMetrics } from "./jetstream-metrics.js";
import { JetStreamPublisher } from "./jetstream-publisher.js";
import type { JetStreamSettings } from "./jetstream-settings.js";
import { jetStreamSink } from "./jetstream-sink.js";
import { jetStreamSpoolPort } from "./jetstream-spool.js";

/** JetStream as the destination sees it: a sink, or a spool with its forwarding worker. */
export interface JetStreamParts {
  /** Readiness: JetStream answered the last probe and publish. */
  available(): boolean;
  /** `--sink jetstream`: where the handlers append. Closing it closes the connection. */
  sink(): Sink;
  /** `--spool jetstream`: the spool port and the worker delivering from the stream. */
  spool(
    deliver: Deliver,
    options: { maxBackoffMs: number; upstreamTimeoutMs: number },
  ): { port: SpoolPort; close(): Promise<void> };
}

/** Connects to JetStream (the stream created if missing) and registers its metrics. */
export async function openJetStream(
  settings: JetStreamSettings,
  registry: Registry,
  log: Logger,
): Promise<JetStreamParts> {
  const metrics = createJetStreamMetrics(registry);
  const publisher = await JetStreamPublisher.open(settings, metrics, log);
  return {
    available: () => publisher.available(),
    sink: () => jetStreamSink(publisher),
    spool(deliver, options) {
      const forwarder = new JetStreamForwarder({ publisher, deliver, metrics, log, ...options });
      forwarder.start();
      return {
        port: jetStreamSpoolPort(publisher),
        async close() {
          await forwarder.close();
          await publisher.close();
        },
      };
    },
  };
}
