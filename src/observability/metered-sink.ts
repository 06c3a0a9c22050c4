import type { Sink } from "../ingest/sink.js";
import { describeError } from "../errors.js";
import type { ProfgateMetrics } from "./metrics.js";

/**
 * A sink that counts what reaches it: accepted requests and payload bytes per method (and per
 * project when enabled), append latency, and failures by reason. Behaviour is the inner sink's.
 */
export function meteredSink(inner: Sink, metrics: ProfgateMetrics): Sink {
  const { ingest, project } = metrics;
  // Label children resolved once per method: prom-client hashes a label set on every call otherwise.
  const children = new Map<
    string,
    { requests: { inc(n?: number): void }; bytes: { inc(n?: number): void } }
  >();
  const byMethod = (method: string) => {
    let found = children.get(method);
    if (!found) {
      found = { requests: ingest.requests.labels({ method }), bytes: ingest.bytes.labels({ method }) };
      children.set(method, found);
    }
    return found;
  };
  return {
    async append(record) {
      const started = process.hrtime.bigint();
      try {
        await inner.append(record);
      } catch (error) {
        ingest.sinkErrors.inc({ reason: describeError(error).reason });
        throw error;
      } finally {
        ingest.sinkAppendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
      let bytes = 0;
      for (const payload of record.payloads) bytes += payload.byteLength;
      const counters = byMethod(record.method);
      counters.requests.inc();
      counters.bytes.inc(bytes);
      project?.ingestBytes.inc({ project_id: record.projectId }, bytes);
    },
    close: () => inner.close(),
  };
}
