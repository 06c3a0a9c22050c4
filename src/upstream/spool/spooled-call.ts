import {
  type IngestRecord,
  OTLP_METHODS,
  type OtlpMethod,
  type RecordOrigin,
  recordOrigin,
} from "../../record-log/record.js";

/** The unary writes that may be spooled. */
export type SpoolMethod = "WriteRaw" | "WriteArrow" | OtlpMethod;

/** Every spoolable method. */
export const SPOOL_METHODS: ReadonlySet<string> = new Set<SpoolMethod>([
  "WriteRaw",
  "WriteArrow",
  ...OTLP_METHODS,
]);

/** A unary write accepted while the upstream failed, waiting to be delivered. */
export interface SpooledCall extends RecordOrigin {
  method: SpoolMethod;
  /** Milliseconds since the epoch when the gateway received the call. */
  receivedAt: number;
  /** The `projectid` the upstream call carries (the caller's, or the one pinned by configuration). */
  upstreamProjectId: string;
  /** The serialized request exactly as the agent sent it. */
  request: Uint8Array;
}

/** Why a record was moved to the dead letters, kept with it. */
export interface DeadLetterReason {
  code: number;
  details: string;
  attempts: number;
  at: number;
}

interface SpoolMeta {
  upstreamProjectId: string;
  deadLetter?: DeadLetterReason;
}

/**
 * A spooled call in the local sink's record format (`record-log/segment-format.ts`), so the
 * spool reuses the segment log as it is: the record's origin and method are the call's, and
 * its payloads are `[request, meta]` where meta is JSON `{upstreamProjectId, deadLetter?}`.
 */
export function toRecord(call: SpooledCall, deadLetter?: DeadLetterReason): IngestRecord {
  const meta: SpoolMeta = {
    upstreamProjectId: call.upstreamProjectId,
    ...(deadLetter ? { deadLetter } : {}),
  };
  return {
    receivedAt: call.receivedAt,
    method: call.method,
    ...recordOrigin(call),
    payloads: [call.request, Buffer.from(JSON.stringify(meta), "utf8")],
  };
}

/** The spooled call a record holds, or why it cannot be one. */
export function fromRecord(record: IngestRecord): (SpooledCall & { deadLetter?: DeadLetterReason }) | string {
  if (!SPOOL_METHODS.has(record.method)) return "not a spoolable method";
  const [request, metaBytes] = record.payloads;
  if (request === undefined || metaBytes === undefined || record.payloads.length !== 2) {
    return "not a spooled call";
  }
  let meta: Partial<SpoolMeta>;
  try {
    meta = JSON.parse(Buffer.from(metaBytes).toString("utf8")) as Partial<SpoolMeta>;
  } catch {
    return "unreadable spool metadata";
  }
  if (typeof meta.upstreamProjectId !== "string") return "unreadable spool metadata";
  return {
    receivedAt: record.receivedAt,
    method: record.method as SpoolMethod,
    ...recordOrigin(record),
    upstreamProjectId: meta.upstreamProjectId,
    request,
    ...(meta.deadLetter ? { deadLetter: meta.deadLetter } : {}),
  };
}
