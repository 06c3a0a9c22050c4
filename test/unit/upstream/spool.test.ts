import { appendFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import { encodeRecord } from "../../../src/record-log/segment-format.js";
import { readRecords } from "../../../src/record-log/record-reader.js";
import { Spool } from "../../../src/upstream/spool/spool.js";
import { cursorPath, decodeCursor, encodeCursor } from "../../../src/upstream/spool/spool-cursor.js";
import { fromRecord, type SpooledCall, toRecord } from "../../../src/upstream/spool/spooled-call.js";
import { bytes, PROJECT_A, PROJECT_B, tempDir } from "../sink/sink-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
let warnings: string[];
const open = (options: { maxBytes?: number; segmentBytes?: number } = {}) =>
  Spool.open({
    dir,
    maxBytes: options.maxBytes ?? 1 << 30,
    ...(options.segmentBytes ? { segmentBytes: options.segmentBytes } : {}),
    onWarning: (message) => warnings.push(message),
  });

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  warnings = [];
});
afterEach(() => cleanup());

function call(projectId: string, n: number, size = 300): SpooledCall {
  return {
    organizationId: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    projectId,
    serviceAccountId: "sa",
    tokenId: "tok",
    method: n % 2 === 0 ? "WriteArrow" : "WriteRaw",
    receivedAt: 1_700_000_000_000 + n,
    upstreamProjectId: "11111111-2222-4333-8444-555555555555",
    request: bytes(size, n),
  };
}

/** Delivers (or dead-letters) up to `count` heads of a project; returns their requests' seeds. */
async function drain(spool: Spool, projectId: string, count = Number.POSITIVE_INFINITY) {
  const queue = spool.projectQueues.find((q) => q.projectId === projectId)!;
  const seen: number[] = [];
  while (seen.length < count) {
    const head = await spool.head(queue);
    if (!head) break;
    const spooled = fromRecord(head.record);
    if (typeof spooled === "string") throw new Error(spooled);
    seen.push(spooled.receivedAt - 1_700_000_000_000);
    await spool.delivered(queue, head);
  }
  return seen;
}

describe("the spool", () => {
  it("keeps each project's records in acknowledgement order, across a reopen", async () => {
    let spool = await open();
    // Concurrent appends share a flush and keep their order.
    await Promise.all([1, 2, 3, 4, 5].map((n) => spool.append(call(PROJECT_A, n))));
    await spool.append(call(PROJECT_B, 6));
    await spool.append(call(PROJECT_A, 7));
    expect(spool.holds(PROJECT_A)).toBe(true);
    expect(spool.holds(PROJECT_B)).toBe(true);
    expect(spool.holds("00000000-0000-4000-8000-000000000000")).toBe(false);
    expect(spool.stats()).toMatchObject({ backlogRecords: 7, deadLetters: 0, projectsWithBacklog: 2 });
    await spool.close();

    spool = await open();
    expect(spool.stats().backlogRecords).toBe(7);
    expect(await drain(spool, PROJECT_A, 2)).toEqual([1, 2]);
    await spool.close();

    spool = await open();
    expect(spool.stats().backlogRecords).toBe(5);
    expect(await drain(spool, PROJECT_A)).toEqual([3, 4, 5, 7]);
    expect(await drain(spool, PROJECT_B)).toEqual([6]);
    expect(spool.holds(PROJECT_A)).toBe(false);
    expect(spool.stats()).toMatchObject({ backlogRecords: 0, backlogBytes: 0, delivered: 5 });
    await spool.close();
  });

  it("stores the request bytes and origin exactly", async () => {
    const spool = await open();
    const original = call(PROJECT_A, 3, 5000);
    await spool.append(original);
    const head = await spool.head(spool.projectQueues[0]!);
    expect(fromRecord(head!.record)).toEqual({ ...original, request: expect.anything() });
    const stored = fromRecord(head!.record) as SpooledCall;
    expect(Buffer.from(stored.request).equals(Buffer.from(original.request))).toBe(true);
    await spool.close();
  });

  it("counts an append as held from the moment it starts, before it is durable", async () => {
    const spool = await open();
    const appending = spool.append(call(PROJECT_A, 1));
    expect(spool.holds(PROJECT_A)).toBe(true);
    await appending;
    expect(spool.holds(PROJECT_A)).toBe(true);
    await spool.close();
  });

  it("deletes delivered segments, never the one being written", async () => {
    let spool = await open({ segmentBytes: 1024 });
    for (let n = 1; n <= 9; n++) await spool.append(call(PROJECT_A, n, 400));
    const segments = () =>
      readdir(join(dir, "queue", PROJECT_A)).then((f) => f.filter((n) => n.endsWith(".seg")));
    const before = (await segments()).length;
    expect(before).toBeGreaterThanOrEqual(4);
    expect(await drain(spool, PROJECT_A, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await segments()).length).toBeLessThan(before);
    await spool.close();

    spool = await open({ segmentBytes: 1024 });
    expect(await drain(spool, PROJECT_A)).toEqual([7, 8, 9]);
    expect((await segments()).length).toBe(1);
    await spool.append(call(PROJECT_A, 10, 400));
    expect(await drain(spool, PROJECT_A)).toEqual([10]);
    await spool.close();
  });

  it("recovers after a crash: a torn tail is cut, acknowledged records are kept", async () => {
    let spool = await open();
    for (let n = 1; n <= 3; n++) await spool.append(call(PROJECT_A, n));
    await spool.close();
    const [segment] = (await readdir(join(dir, "queue", PROJECT_A))).filter((n) => n.endsWith(".seg"));
    // A write that was never acknowledged: a frame header and half a body.
    await appendFile(
      join(dir, "queue", PROJECT_A, segment!),
      Buffer.concat([Buffer.from("PGS1"), bytes(40, 9)]),
    );

    spool = await open();
    expect(warnings.some((w) => w.includes("torn tail"))).toBe(true);
    expect(spool.stats().backlogRecords).toBe(3);
    await spool.append(call(PROJECT_A, 4));
    expect(await drain(spool, PROJECT_A)).toEqual([1, 2, 3, 4]);
    await spool.close();
  });

  it("restarts at the oldest record when the cursor is damaged: duplicates, never loss", async () => {
    let spool = await open();
    for (let n = 1; n <= 4; n++) await spool.append(call(PROJECT_A, n));
    expect(await drain(spool, PROJECT_A, 2)).toEqual([1, 2]);
    await spool.close();
    await writeFile(cursorPath(join(dir, "queue", PROJECT_A)), bytes(24, 1));

    spool = await open();
    expect(warnings.some((w) => w.includes("cursor is damaged"))).toBe(true);
    expect(await drain(spool, PROJECT_A)).toEqual([1, 2, 3, 4]);
    await spool.close();
  });

  it("refuses appends beyond --spool-max-bytes with UNAVAILABLE, and takes them again once delivered", async () => {
    const frame = (c: SpooledCall) => encodeRecord(toRecord(c)).byteLength;
    const limit = frame(call(PROJECT_A, 1)) + frame(call(PROJECT_A, 2)) + frame(call(PROJECT_A, 3));
    const spool = await open({ maxBytes: limit });
    for (let n = 1; n <= 3; n++) await spool.append(call(PROJECT_A, n));
    const full = await spool.append(call(PROJECT_B, 5)).catch((error: unknown) => error);
    expect(full).toBeInstanceOf(DomainError);
    expect(full).toMatchObject({ kind: "unavailable", reason: "spool_full" });
    expect(spool.holds(PROJECT_B)).toBe(false);
    expect(spool.stats()).toMatchObject({ backlogRecords: 3, backlogBytes: limit });

    expect(await drain(spool, PROJECT_A, 1)).toEqual([1]);
    await spool.append(call(PROJECT_B, 5));
    expect(spool.stats().backlogRecords).toBe(3);
    await spool.close();
  });

  it("moves refused records to the dead letters, with the reason, and keeps counting them", async () => {
    let spool = await open();
    for (let n = 1; n <= 3; n++) await spool.append(call(PROJECT_A, n));
    const queue = spool.projectQueues[0]!;
    const head = (await spool.head(queue))!;
    const reason = { code: 3, details: "bad labels", attempts: 1, at: 1_700_000_000_999 };
    await spool.deadLetter(queue, head, toRecord(fromRecord(head.record) as SpooledCall, reason));
    expect(spool.stats()).toMatchObject({ backlogRecords: 2, deadLetters: 1, delivered: 0 });
    expect(await drain(spool, PROJECT_A)).toEqual([2, 3]);
    await spool.close();

    const letters = [];
    for await (const entry of readRecords(join(dir, "dead-letter"))) letters.push(entry);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.kind === "record" && fromRecord(letters[0]!.record)).toMatchObject({
      receivedAt: 1_700_000_000_001,
      deadLetter: reason,
    });
    spool = await open();
    expect(spool.stats().deadLetters).toBe(1);
    await spool.close();
  });

  it("refuses appends once closed", async () => {
    const spool = await open();
    await spool.close();
    await expect(spool.append(call(PROJECT_A, 1))).rejects.toMatchObject({ kind: "unavailable" });
  });
});

describe("the spool cursor", () => {
  it("round-trips and rejects damage", () => {
    const encoded = encodeCursor({ segment: 12, offset: 123_456_789 });
    expect(encoded).toHaveLength(24);
    expect(decodeCursor(encoded)).toEqual({ segment: 12, offset: 123_456_789 });
    const flipped = Buffer.from(encoded);
    flipped[20] = flipped[20]! ^ 1;
    expect(decodeCursor(flipped)).toBeNull();
    expect(decodeCursor(encoded.subarray(0, 10))).toBeNull();
  });
});
