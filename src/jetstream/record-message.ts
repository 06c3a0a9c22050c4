import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { invalidArgument } from "../errors.js";
import { type IngestMethod, type IngestRecord, METHOD_PATHS } from "../record-log/record.js";

/** The headers every message of a record carries (README, "The JetStream message format"). */
export const HEADER = {
  method: "Profgate-Method",
  organization: "Profgate-Organization",
  project: "Profgate-Project",
  serviceAccount: "Profgate-Service-Account",
  token: "Profgate-Token",
  receivedAt: "Profgate-Received-At",
  payloadLengths: "Profgate-Payload-Lengths",
  record: "Profgate-Record",
  part: "Profgate-Part",
  partSequences: "Profgate-Part-Sequences",
  upstreamProject: "Profgate-Upstream-Project",
  msgId: "Nats-Msg-Id",
} as const;

/** Room kept in each message for the headers: a part's data is `max_payload` minus this. */
export const HEADER_ROOM = 4096;

/** A subject token: no dots, wildcards or white space, so an id cannot reach another subject. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** One accepted record on its way to the stream, with what forwarding adds to it. */
export interface StreamRecord extends IngestRecord {
  /** Forwarding only: the `projectid` the upstream call carries. */
  upstreamProjectId?: string | undefined;
}

/** One message to publish; `Nats-Msg-Id` is in `headers` and also here. */
export interface RecordMessage {
  subject: string;
  msgId: string;
  headers: MsgHdrs;
  data: Uint8Array;
  /** 1-based; `parts` is the count (1 for a record that fits one message). */
  part: number;
  parts: number;
}

/** `<prefix>.<organizationId>.<projectId>.<method>`; throws invalid_argument on ids that are not subject tokens. */
export function recordSubject(prefix: string, record: IngestRecord): string {
  if (!TOKEN.test(record.organizationId) || !TOKEN.test(record.projectId)) {
    throw invalidArgument(
      "The record's organization or project id is not a valid identifier.",
      "invalid_project_id",
    );
  }
  return `${prefix}.${record.organizationId}.${record.projectId}.${record.method}`;
}

/**
 * The messages of one record: one when its data fits `maxPayload` (the server's `max_payload`,
 * headers included), otherwise parts of at most `maxPayload - HEADER_ROOM` bytes each, all
 * carrying the record's headers plus `Profgate-Record` and `Profgate-Part: i/n`. The data is the
 * payload exactly as received; a record of several payloads (Write) is their concatenation with
 * their lengths in `Profgate-Payload-Lengths`.
 */
export function recordMessages(
  prefix: string,
  record: StreamRecord,
  recordId: string,
  maxPayload: number,
): RecordMessage[] {
  const subject = recordSubject(prefix, record);
  const data = record.payloads.length === 1 ? record.payloads[0]! : Buffer.concat(record.payloads);
  const partBytes = Math.max(1024, maxPayload - HEADER_ROOM);
  const parts = Math.max(1, Math.ceil(data.byteLength / partBytes));
  const messages: RecordMessage[] = [];
  for (let part = 1; part <= parts; part++) {
    const h = natsHeaders();
    h.set(HEADER.method, record.method);
    h.set(HEADER.organization, record.organizationId);
    h.set(HEADER.project, record.projectId);
    h.set(HEADER.serviceAccount, record.serviceAccountId);
    h.set(HEADER.token, record.tokenId);
    h.set(HEADER.receivedAt, String(record.receivedAt));
    if (record.payloads.length !== 1) {
      h.set(HEADER.payloadLengths, record.payloads.map((p) => p.byteLength).join(","));
    }
    if (record.upstreamProjectId !== undefined) h.set(HEADER.upstreamProject, record.upstreamProjectId);
    const msgId = parts === 1 ? recordId : `${recordId}-${part}`;
    if (parts > 1) {
      h.set(HEADER.record, recordId);
      h.set(HEADER.part, `${part}/${parts}`);
    }
    h.set(HEADER.msgId, msgId);
    const start = (part - 1) * partBytes;
    messages.push({
      subject,
      msgId,
      headers: h,
      data: parts === 1 ? data : data.subarray(start, Math.min(data.byteLength, start + partBytes)),
      part,
      parts,
    });
  }
  return messages;
}

/** `i/n` -> [i, n]; a message without the header is the whole record, [1, 1]. */
export function partOf(h: MsgHdrs | undefined): [number, number] {
  const text = h?.get(HEADER.part) ?? "";
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (!match) return [1, 1];
  return [Number(match[1]), Number(match[2])];
}

/** One message as read back from the stream. */
export interface StoredPart {
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

/**
 * The record that `parts` (in part order, all of one record) hold, or why they hold none. The
 * origin comes from the first part's headers; the data is their concatenation.
 */
export function readRecord(parts: StoredPart[]): StreamRecord | string {
  const first = parts[0];
  if (!first?.headers) return "a message without profgate headers";
  const h = first.headers;
  const method = h.get(HEADER.method) as IngestMethod;
  if (!(method in METHOD_PATHS)) return "an unknown Profgate-Method";
  const receivedAt = Number(h.get(HEADER.receivedAt));
  if (!Number.isSafeInteger(receivedAt)) return "an unreadable Profgate-Received-At";
  const data = parts.length === 1 ? first.data : Buffer.concat(parts.map((p) => p.data));
  const lengthsText = h.get(HEADER.payloadLengths);
  let payloads: Uint8Array[] = [data];
  if (lengthsText !== "") {
    const lengths = lengthsText.split(",").map(Number);
    if (
      lengths.some((n) => !Number.isSafeInteger(n) || n < 0) ||
      lengths.reduce((a, b) => a + b, 0) !== data.byteLength
    ) {
      return "Profgate-Payload-Lengths does not match the data";
    }
    let offset = 0;
    payloads = lengths.map((n) => {
      const payload = data.subarray(offset, offset + n);
      offset += n;
      return payload;
    });
  }
  const upstreamProjectId = h.get(HEADER.upstreamProject);
  return {
    method,
    organizationId: h.get(HEADER.organization),
    projectId: h.get(HEADER.project),
    serviceAccountId: h.get(HEADER.serviceAccount),
    tokenId: h.get(HEADER.token),
    receivedAt,
    payloads,
    ...(upstreamProjectId !== "" ? { upstreamProjectId } : {}),
  };
}
