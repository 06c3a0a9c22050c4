import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HEADER, partOf, readRecord, recordMessages } from "../../../src/jetstream/record-message.js";
import type { IngestRecord } from "../../../src/record-log/record.js";

const record = (payloads: Uint8Array[]): IngestRecord => ({
  method: "WriteArrow",
  organizationId: "0f0e0d0c-0000-4000-8000-000000000001",
  projectId: "0f0e0d0c-0000-4000-8000-000000000002",
  serviceAccountId: "sa-1",
  tokenId: "tok-1",
  receivedAt: 1_700_000_000_123,
  payloads,
});

describe("a record as JetStream messages", () => {
  it("is one message with the payload as its data when it fits", () => {
    const payload = randomBytes(1000);
    const [message, ...rest] = recordMessages("profgate", record([payload]), "rec1", 1024 * 1024);
    expect(rest).toEqual([]);
    expect(message!.subject).toBe(
      "profgate.0f0e0d0c-0000-4000-8000-000000000001.0f0e0d0c-0000-4000-8000-000000000002.WriteArrow",
    );
    expect(Buffer.from(message!.data).equals(payload)).toBe(true);
    expect(message!.headers.get(HEADER.msgId)).toBe("rec1");
    expect(message!.headers.get(HEADER.part)).toBe("");
    expect(message!.headers.get(HEADER.receivedAt)).toBe("1700000000123");
    expect(readRecord([message!])).toEqual(record([payload]));
  });

  it("is split into parts below max_payload that join back into the same bytes", () => {
    const payload = randomBytes(300_000);
    const messages = recordMessages("profgate", record([payload]), "rec2", 64 * 1024);
    expect(messages.length).toBe(Math.ceil(300_000 / (64 * 1024 - 4096)));
    for (const [i, m] of messages.entries()) {
      expect(m.data.byteLength).toBeLessThanOrEqual(64 * 1024 - 4096);
      expect(partOf(m.headers)).toEqual([i + 1, messages.length]);
      expect(m.headers.get(HEADER.record)).toBe("rec2");
      expect(m.msgId).toBe(`rec2-${i + 1}`);
    }
    const back = readRecord(messages);
    expect(typeof back).not.toBe("string");
    expect(Buffer.from((back as IngestRecord).payloads[0]!).equals(payload)).toBe(true);
  });

  it("keeps the payloads of a Write apart through their lengths", () => {
    const payloads = [randomBytes(10), randomBytes(0), randomBytes(7)];
    const messages = recordMessages(
      "profgate",
      { ...record(payloads), method: "Write" },
      "rec3",
      1024 * 1024,
    );
    expect(messages[0]!.headers.get(HEADER.payloadLengths)).toBe("10,0,7");
    expect(
      (readRecord(messages) as IngestRecord).payloads.map((p) => Buffer.from(p).toString("hex")),
    ).toEqual(payloads.map((p) => p.toString("hex")));
  });

  it("refuses ids that would reach another subject", () => {
    expect(() =>
      recordMessages("profgate", { ...record([randomBytes(1)]), projectId: "a.>" }, "r", 1024 * 1024),
    ).toThrow(/not a valid identifier/);
  });
});
