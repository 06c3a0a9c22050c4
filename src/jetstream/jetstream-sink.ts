import type { Sink } from "../ingest/sink.js";
import { sinkClosed } from "../record-log/segment-writer.js";
import type { JetStreamPublisher } from "./jetstream-publisher.js";

/**
 * The `--sink jetstream` sink: `append` resolves once JetStream acked the record (every part
 * of it), rejects with `unavailable` otherwise. `close` waits for appends in flight, then closes
 * the connection.
 */
export function jetStreamSink(publisher: JetStreamPublisher): Sink {
  const inFlight = new Set<Promise<void>>();
  let closed = false;
  return {
    async append(record) {
      if (closed) throw sinkClosed();
      const publish = publisher.publish(record);
      inFlight.add(publish);
      try {
        await publish;
      } finally {
        inFlight.delete(publish);
      }
    },
    async close() {
      closed = true;
      await Promise.allSettled(inFlight);
      await publisher.close();
    },
  };
}
