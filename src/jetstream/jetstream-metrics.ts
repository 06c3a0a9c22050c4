import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The outcome of one record's publish: `acked`, `duplicate` (a retry JetStream had), `failed`. */
export const PUBLISH_RESULTS = ["acked", "duplicate", "failed"] as const;

/** What JetStream's side of the gateway exposes, on the gateway's registry. */
export interface JetStreamMetrics {
  /** Seconds from the first part's publish to the last part's ack, per record. */
  publishSeconds: Histogram;
  /** Records published, by `result` (PUBLISH_RESULTS). */
  publishes: Counter<"result">;
  /** 1 while JetStream answers, 0 otherwise. */
  up: Gauge;
  /** Forwarding: messages delivered to the upstream and acked. */
  forwarded: Counter;
  /** Forwarding: messages JetStream delivered again (after a nak, an ack wait or a worker's death). */
  redeliveries: Counter;
  /** Forwarding: records moved to the dead-letter subjects. */
  deadLetters: Counter;
  /** Forwarding: messages of the stream the forwarding consumer has not acked yet. */
  backlog: Gauge;
}

export function createJetStreamMetrics(registry: Registry): JetStreamMetrics {
  const registers = [registry];
  const publishes = new Counter({
    name: "profgate_jetstream_publishes_total",
    help: "Accepted records published to JetStream, by result (acked, duplicate, failed).",
    labelNames: ["result"] as const,
    registers,
  });
  for (const result of PUBLISH_RESULTS) publishes.inc({ result }, 0);
  return {
    publishSeconds: new Histogram({
      name: "profgate_jetstream_publish_seconds",
      help: "Seconds from publishing a record's first message to JetStream's ack of its last.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    publishes,
    up: new Gauge({
      name: "profgate_jetstream_up",
      help: "1 while JetStream answers, 0 otherwise.",
      registers,
    }),
    forwarded: new Counter({
      name: "profgate_jetstream_forwarded_total",
      help: "Records read from JetStream, accepted by the upstream and acked.",
      registers,
    }),
    redeliveries: new Counter({
      name: "profgate_jetstream_redeliveries_total",
      help: "Messages JetStream delivered again to the forwarding workers.",
      registers,
    }),
    deadLetters: new Counter({
      name: "profgate_jetstream_dead_letters_total",
      help: "Records the upstream refused for good, moved to the dead-letter subjects.",
      registers,
    }),
    backlog: new Gauge({
      name: "profgate_jetstream_backlog_messages",
      help: "Messages of the stream the forwarding consumer has not acked yet.",
      registers,
    }),
  };
}
