import { stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalSink } from "../../../src/record-log/local-sink.js";
import { summarizeSink } from "../../../src/record-log/record-reader.js";
import { bytes, PROJECT_A, PROJECT_B, readAll, record, recordsOf, tempDir } from "./sink-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe("summarizeSink", () => {
  it("counts records, payload bytes and segments per project, with the newest records first", async () => {
    const sink = await LocalSink.open({ dir, segmentBytes: 3000 });
    for (let n = 0; n < 6; n++) await sink.append(record(PROJECT_A, "WriteRaw", [bytes(1000 + n, n)], n));
    await sink.append(record(PROJECT_B, "Write", [bytes(10, 1), bytes(20, 2)], 50));
    await sink.append(record(PROJECT_B, "ReportPanic", [], 40));
    await sink.close();

    const [a, b, ...others] = await summarizeSink(dir, { newest: 2 });
    expect(others).toEqual([]);
    expect(a).toMatchObject({
      projectId: PROJECT_A,
      records: 6,
      bytes: 6000 + 15,
      firstReceivedAt: 1_700_000_000_000,
      lastReceivedAt: 1_700_000_000_005,
      corruptions: [],
    });
    expect(a?.segments).toBeGreaterThanOrEqual(3);
    expect(a?.newest).toEqual([
      {
        receivedAt: 1_700_000_000_005,
        method: "WriteRaw",
        serviceAccountId: "sa-2",
        tokenId: "tok-5",
        payloadBytes: 1005,
      },
      {
        receivedAt: 1_700_000_000_004,
        method: "WriteRaw",
        serviceAccountId: "sa-1",
        tokenId: "tok-4",
        payloadBytes: 1004,
      },
    ]);
    expect(b).toMatchObject({
      projectId: PROJECT_B,
      records: 2,
      bytes: 30,
      segments: 1,
      firstReceivedAt: 1_700_000_000_040,
      lastReceivedAt: 1_700_000_000_050,
    });
    expect(b?.newest.map((r) => r.method)).toEqual(["ReportPanic", "Write"]);

    const only = await summarizeSink(dir, { projectId: PROJECT_B, newest: 0 });
    expect(only).toHaveLength(1);
    expect(only[0]).toMatchObject({ projectId: PROJECT_B, records: 2, newest: [] });
  });

  it("returns nothing for a missing directory or an unknown project, and refuses an unsafe project id", async () => {
    expect(await summarizeSink(join(dir, "missing"), { newest: 5 })).toEqual([]);
    expect(await summarizeSink(dir, { projectId: PROJECT_A, newest: 5 })).toEqual([]);
    await expect(summarizeSink(dir, { projectId: "../x", newest: 1 })).rejects.toMatchObject({
      reason: "invalid_project_id",
    });
  });
});

describe("readRecords", () => {
  it("reads a consistent prefix while a writer is appending", async () => {
    const sink = await LocalSink.open({ dir, segmentBytes: 256 * 1024 });
    const total = 300;
    const payloads = Array.from({ length: total }, (_, n) => bytes(16_384 + n, n));
    let finished = false;
    const done = (async () => {
      for (let wave = 0; wave < total; wave += 20) {
        const appends = payloads
          .slice(wave, wave + 20)
          .map((payload, i) => sink.append(record(PROJECT_A, "WriteArrow", [payload], wave + i)));
        await Promise.all(appends);
      }
      await sink.close();
      finished = true;
    })();

    const seen = new Set<number>();
    while (!finished) {
      const tokens = recordsOf(await readAll(dir)).map((r) => r.tokenId);
      expect(tokens).toEqual(Array.from({ length: tokens.length }, (_, n) => `tok-${n}`));
      seen.add(tokens.length);
    }
    await done;
    expect(seen.size).toBeGreaterThan(1);
    expect(recordsOf(await readAll(dir))).toHaveLength(total);
  });

  it("stops silently at a partial frame at the end of the last segment", async () => {
    const sink = await LocalSink.open({ dir });
    for (let n = 0; n < 3; n++) await sink.append(record(PROJECT_A, "WriteRaw", [bytes(500, n)], n));
    await sink.close();
    const path = join(dir, PROJECT_A, "0000000000000001.seg");
    await truncate(path, (await stat(path)).size - 100);

    const entries = await readAll(dir);
    expect(entries.map((e) => e.kind)).toEqual(["record", "record"]);
  });
});
