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
