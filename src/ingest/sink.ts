/** The ingestion methods whose accepted payloads reach a sink. */
export type IngestMethod = "WriteRaw" | "WriteArrow" | "Write" | "ReportPanic";

/** Who sent a record: the authenticated principal of the call. */
export interface RecordOrigin {
  organizationId: string;
  projectId: string;
  serviceAccountId: string;
  tokenId: string;
}

/** The origin fields of `from` alone (an auth context or a record carries more). */
export function recordOrigin(from: RecordOrigin): RecordOrigin {
  return {
    organizationId: from.organizationId,
    projectId: from.projectId,
    serviceAccountId: from.serviceAccountId,
    tokenId: from.tokenId,
  };
}

/**
 * One accepted write, as stored. `payloads` are the bytes the agent sent, untouched:
 * WriteRaw and ReportPanic: the serialized request; WriteArrow: `ipc_buffer`;
 * Write: `[sampleRecord, locationsRecord]` (the second absent when nothing was asked for).
 */
export interface IngestRecord extends RecordOrigin {
  /** Milliseconds since the Unix epoch when the gateway received the call. */
  receivedAt: number;
  method: IngestMethod;
  payloads: Uint8Array[];
}

/**
 * Where accepted writes go. `append` resolves only once the record is durable (local sink:
 * fsynced; upstream sink: acknowledged upstream); a rejected promise means nothing was acknowledged.
 */
export interface Sink {
  append(record: IngestRecord): Promise<void>;
  /** Flushes what is pending and releases files or connections; appends after close reject. */
  close(): Promise<void>;
}
