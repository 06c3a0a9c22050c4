import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import { LocalSink } from "../../../src/record-log/local-sink.js";
import type { IngestRecord } from "../../../src/record-log/record.js";
import {
  bytes,
  expectSameRecord,
  PROJECT_A,
  PROJECT_B,
  readAll,
  record,
  recordsOf,
  tempDir,
} from "./sink-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const temp = await tempDir();
  dir = join(temp.dir, "sink");
  cleanup = temp.cleanup;
});
afterEach(() => cleanup());

describe("LocalSink", () => {
  it("stores records of every method and reads them back byte for byte, in order per project", async () => {
    const written: IngestRecord[] = [
      record(PROJECT_A, "WriteRaw", [bytes(1000, 1)], 1),
      record(PROJECT_B, "Write", [bytes(300, 2), bytes(40_000, 3)], 2),
      record(PROJECT_A, "Write", [bytes(512, 4)], 3),
      record(PROJECT_A, "WriteArrow", [bytes(70_000, 5)], 4),
      record(PROJECT_B, "ReportPanic", [], 5),
      record(PROJECT_A, "WriteRaw", [new Uint8Array(0), bytes(7, 6), new Uint8Array(0)], 6),
      record(PROJECT_A, "WriteArrow", [bytes(5 * 1024 * 1024, 7)], 7),
      record(PROJECT_B, "Write", [bytes(1, 8)], 8),
    ];
    const sink = await LocalSink.open({ dir });
    for (const r of written) await sink.append(r);
    await sink.close();

    const entries = await readAll(dir);
    const records = recordsOf(entries);
    // Projects are read in id order (PROJECT_A < PROJECT_B), each in append order.
    const expected = [
      ...written.filter((r) => r.projectId === PROJECT_A),
      ...written.filter((r) => r.projectId === PROJECT_B),
    ];
    expect(records).toHaveLength(written.length);
    for (const [i, r] of expected.entries()) expectSameRecord(records[i], r);
    expect(entries[0]).toMatchObject({ kind: "record", projectId: PROJECT_A, segment: 1, offset: 0 });
  });

  it("continues the log after a reopen", async () => {
    const first = await LocalSink.open({ dir });
    await first.append(record(PROJECT_A, "WriteRaw", [bytes(100, 1)], 1));
    await first.close();
    const second = await LocalSink.open({ dir });
    await second.append(record(PROJECT_A, "WriteRaw", [bytes(100, 2)], 2));
    await second.close();

    const records = recordsOf(await readAll(dir));
    expect(records.map((r) => r.tokenId)).toEqual(["tok-1", "tok-2"]);
    expect(await readdir(join(dir, PROJECT_A))).toEqual(["0000000000000001.seg"]);
  });

  it("creates directories with mode 0700 and segment files with mode 0600", async () => {
    const sink = await LocalSink.open({ dir });
    await sink.append(record(PROJECT_A, "WriteRaw", [bytes(10, 1)]));
    await sink.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, PROJECT_A))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, PROJECT_A, "0000000000000001.seg"))).mode & 0o777).toBe(0o600);
  });

  it("rotates segments at segmentBytes and reads them back in order", async () => {
    const sink = await LocalSink.open({ dir, segmentBytes: 4096 });
    const written = Array.from({ length: 40 }, (_, n) => record(PROJECT_A, "WriteRaw", [bytes(900, n)], n));
    for (const r of written) await sink.append(r);
    await sink.close();

    const files = (await readdir(join(dir, PROJECT_A))).sort();
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files[0]).toBe("0000000000000001.seg");
    for (const file of files) expect((await stat(join(dir, PROJECT_A, file))).size).toBeLessThanOrEqual(4096);

    const entries = await readAll(dir);
    const segments = entries.map((e) => e.segment);
    expect(segments).toEqual([...segments].sort((a, b) => a - b));
    expect(new Set(segments).size).toBe(files.length);
    const records = recordsOf(entries);
    for (const [i, r] of written.entries()) expectSameRecord(records[i], r);
  });

  it("flushes appends made before close, and rejects appends after it", async () => {
    const sink = await LocalSink.open({ dir });
    const appends = Array.from({ length: 20 }, (_, n) =>
      sink.append(record(PROJECT_A, "Write", [bytes(64, n)], n)),
    );
    await sink.close();
    await Promise.all(appends);
    expect(recordsOf(await readAll(dir))).toHaveLength(20);

    const late = sink.append(record(PROJECT_A, "Write", [bytes(64, 99)], 99));
    await expect(late).rejects.toBeInstanceOf(DomainError);
    await expect(late).rejects.toMatchObject({ kind: "unavailable", reason: "sink_closed" });
  });

  it("refuses a project id that is not a safe path segment", async () => {
    const sink = await LocalSink.open({ dir });
    for (const projectId of ["../etc", "ABC-DEF", "a/b", "", "x".repeat(3)]) {
      await expect(sink.append(record(projectId, "WriteRaw", []))).rejects.toMatchObject({
        kind: "invalid_argument",
        reason: "invalid_project_id",
      });
    }
    await sink.close();
    expect(await readdir(dir)).toEqual([]);
  });
});
