import type { IngestRecord } from "../record-log/record.js";

/**
 * Where accepted writes go. `append` resolves only once the record is durable (local sink:
 * fsynced; JetStream sink: acked by JetStream; upstream sink: acknowledged upstream); a rejected
 * promise means nothing was acknowledged.
 */
export interface Sink {
  append(record: IngestRecord): Promise<void>;
  /** Flushes what is pending and releases files or connections; appends after close reject. */
  close(): Promise<void>;
}
