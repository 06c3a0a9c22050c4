import { appendFile, open, readdir, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalSink } from "../../../src/record-log/local-sink.js";
import type { IngestRecord } from "../../../src/record-log/record.js";
import { bytes, expectSameRecord, PROJECT_A, readAll, record, recordsOf, tempDir } from "./sink-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

const segment = (n: number) => join(dir, PROJECT_A, `${String(n).padStart(16, "0")}.seg`);

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, "r+");
  const one = Buffer.alloc(1);
  await handle.read(one, 0, 1, offset);
  one[0] = one[0]! ^ 0xff;
  await handle.write(one, 0, 1, offset);
  await handle.close();
}

/** Writes three records and returns them with the offset of each and the file's size. */
async function writeThree(options: { segmentBytes?: number } = {}) {
  const sink = await LocalSink.open({ dir, ...options });
  const written = [1, 2, 3].map((n) => record(PROJECT_A, "Write", [bytes(400, n), bytes(100, n + 10)], n));
  for (const r of written) await sink.append(r);
  await sink.close();
  const offsets = (await readAll(dir)).map((e) => e.offset);
  return { written, offsets, size: (await stat(segment(1))).size };
}

async function reopenAndAppend(): Promise<{ warnings: string[]; added: IngestRecord }> {
  const warnings: string[] = [];
  const sink = await LocalSink.open({ dir, onWarning: (message) => warnings.push(message) });
  const added = record(PROJECT_A, "WriteRaw", [bytes(250, 42)], 42);
  await sink.append(added);
  await sink.close();
  return { warnings, added };
}

describe("LocalSink recovery", () => {
  const tears: Array<[string, (offsets: number[], size: number) => Promise<void>]> = [
    ["truncated inside the frame header", (o) => truncate(segment(1), o[2]! + 5)],
    ["truncated inside the body", (o) => truncate(segment(1), o[2]! + 12 + 40)],
    ["a flipped byte in the last body", (_, size) => flipByte(segment(1), size - 3)],
  ];

  it.each(tears)("repairs a torn tail (%s) and appends after the last valid record", async (_, tear) => {
    const { written, offsets, size } = await writeThree();
    await tear(offsets, size);

    const { warnings, added } = await reopenAndAppend();

    expect(warnings).toEqual([expect.stringContaining("torn tail")]);
    const entries = await readAll(dir);
    const records = recordsOf(entries);
    expect(records).toHaveLength(3);
    expectSameRecord(records[0], written[0]!);
    expectSameRecord(records[1], written[1]!);
    expectSameRecord(records[2], added);
    expect(entries[2]?.offset).toBe(offsets[2]);
    expect(await readdir(join(dir, PROJECT_A))).toHaveLength(1);
  });

  it("truncates zeros left after the last record by a crash, keeping every record", async () => {
    const { written, size } = await writeThree();
    await appendFile(segment(1), Buffer.alloc(4096));

    const { warnings, added } = await reopenAndAppend();

    expect(warnings).toEqual([expect.stringContaining("torn tail")]);
    const records = recordsOf(await readAll(dir));
    expect(records).toHaveLength(4);
    expectSameRecord(records[2], written[2]!);
    expectSameRecord(records[3], added);
    expect((await stat(segment(1))).size).toBeLessThan(size + 4096);
  });

  it("opens without warnings when the last segment ends cleanly", async () => {
    await writeThree();
    const { warnings } = await reopenAndAppend();
    expect(warnings).toEqual([]);
    expect(recordsOf(await readAll(dir))).toHaveLength(4);
  });

  it("keeps a last segment damaged before its end, reports it, and appends to a new segment", async () => {
    const { written, offsets, size } = await writeThree();
    await flipByte(segment(1), offsets[1]! + 20);

    const { warnings, added } = await reopenAndAppend();

    expect(warnings).toEqual([expect.stringContaining("corrupt before its end")]);
    expect((await stat(segment(1))).size).toBe(size);
    const entries = await readAll(dir);
    expect(entries).toHaveLength(3);
    expectSameRecord(entries[0]?.kind === "record" ? entries[0].record : undefined, written[0]!);
    expect(entries[1]).toMatchObject({
      kind: "corrupt",
      segment: 1,
      offset: offsets[1],
      reason: "checksum mismatch",
    });
    expect(entries[2]).toMatchObject({ kind: "record", segment: 2, offset: 0 });
    expectSameRecord(entries[2]?.kind === "record" ? entries[2].record : undefined, added);
  });

  it("reports corruption in an older segment and goes on with the next one", async () => {
    const sink = await LocalSink.open({ dir, segmentBytes: 2500 });
    for (let n = 0; n < 9; n++) await sink.append(record(PROJECT_A, "WriteRaw", [bytes(600, n)], n));
    await sink.close();
    const before = await readAll(dir);
    expect(before.filter((e) => e.segment === 1)).toHaveLength(3);
    const second = before.filter((e) => e.segment === 1)[1]!;
    await flipByte(segment(1), second.offset + 30);

    const entries = await readAll(dir);
    const kinds = entries.map((e) => `${e.segment}:${e.kind}`);
    expect(kinds.slice(0, 2)).toEqual(["1:record", "1:corrupt"]);
    expect(new Set(kinds).size).toBeGreaterThan(3);
    expect(entries[1]).toMatchObject({ offset: second.offset, reason: "checksum mismatch" });
    const rest = entries.slice(2);
    expect(rest.every((e) => e.kind === "record" && e.segment > 1)).toBe(true);
    expect(rest).toHaveLength(before.filter((e) => e.segment > 1).length);
  });
});
