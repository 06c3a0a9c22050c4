import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { HEADER, partOf, readRecord, type StoredPart, type StreamRecord } from "./record-message.js";

/** One record read back from the stream: where it is, and what it holds or why it holds nothing. */
export interface StreamEntry {
  /** The stream sequence of the record's (last) message. */
  seq: number;
  subject: string;
  /** The Nats-Msg-Id of a whole message, or the Profgate-Record of a record in parts. */
  id: string;
  record: StreamRecord | string;
}

/**
 * Every record of `stream` whose subject matches `filter` (default: all), in stream order, each
 * once its last part was read; parts whose record never completes are left out. Reads what the
 * stream held when called, through an ordered consumer (nothing is acknowledged or changed).
 */
export async function* readStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  filter = `${stream}.>`,
): AsyncGenerator<StreamEntry> {
  const info = await jsm.streams.info(stream);
  const lastSeq = info.state.last_seq;
  if (info.state.messages === 0) return;
  const consumer = await js.consumers.get(stream, { filter_subjects: filter });
  const pending = new Map<string, StoredPart[]>();
  for (;;) {
    const msg = await consumer.next({ expires: 2000 });
    if (!msg) return;
    const [part, parts] = partOf(msg.headers);
    if (parts === 1) {
      yield {
        seq: msg.seq,
        subject: msg.subject,
        id: msg.headers?.get(HEADER.msgId) ?? String(msg.seq),
        record: readRecord([{ headers: msg.headers, data: msg.data }]),
      };
    } else {
      const id = msg.headers?.get(HEADER.record) ?? "";
      const held = pending.get(id) ?? [];
      held.push({ headers: msg.headers, data: msg.data });
      pending.set(id, held);
      if (part === parts) {
        pending.delete(id);
        yield {
          seq: msg.seq,
          subject: msg.subject,
          id,
          record: held.length === parts ? readRecord(held) : "a record with parts missing",
        };
      }
    }
    if (msg.seq >= lastSeq) return;
  }
}
