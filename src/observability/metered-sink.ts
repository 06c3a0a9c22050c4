import type { Sink } from "../ingest/sink/sink.js";
import { toStatus } from "../rpc/to-status.js";
import type { ProfgateMetrics } from "./metrics.js";

/**
 * A sink that counts what reaches it: accepted requests and payload bytes per method (and per
 * project when enabled), append latency, and failures by reason. Behaviour is the inner sink's.
 */
export function meteredSink(inner: Sink, metrics: ProfgateMetrics): Sink {
  const { ingest, project } = metrics;
  return {
    async append(record) {
      const started = process.hrtime.bigint();
      try {
        await inner.append(record);
      } catch (error) {
        ingest.sinkErrors.inc({ reason: toStatus(error).reason });
        throw error;
      } finally {
        ingest.sinkAppendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
      let bytes = 0;
      for (const payload of record.payloads) bytes += payload.byteLength;
      ingest.requests.inc({ method: record.method });
      ingest.bytes.inc({ method: record.method }, bytes);
      project?.ingestBytes.inc({ project_id: record.projectId }, bytes);
    },
    close: () => inner.close(),
  };
}
