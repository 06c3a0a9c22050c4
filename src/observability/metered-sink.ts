import { type CounterChild, counterChild, histogramChild } from "./metric-children.js";
import type { Sink } from "../ingest/sink.js";
import { describeError } from "../errors.js";
import type { ProfgateMetrics } from "./metrics.js";

/**
 * A sink that counts what reaches it: accepted requests and payload bytes per method (and per
 * project when enabled), append latency, and failures by reason. Behaviour is the inner sink's.
 */
export function meteredSink(inner: Sink, metrics: ProfgateMetrics): Sink {
  const { ingest, project } = metrics;
  // Label children resolved once per method: a call only adds.
  const children = new Map<string, { requests: CounterChild; bytes: CounterChild }>();
  const byMethod = (method: string) => {
    let found = children.get(method);
    if (!found) {
      found = {
        requests: counterChild(ingest.requests, { method }),
        bytes: counterChild(ingest.bytes, { method }),
      };
      children.set(method, found);
    }
    return found;
  };
  const appendSeconds = histogramChild(ingest.sinkAppendSeconds, {});
  return {
    async append(record) {
      const started = process.hrtime.bigint();
      try {
        await inner.append(record);
      } catch (error) {
        ingest.sinkErrors.inc({ reason: describeError(error).reason });
        throw error;
      } finally {
        appendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
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
