import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalSink } from "../../../src/record-log/local-sink.js";
import { nodeSegmentIo, type SegmentIo } from "../../../src/record-log/segment-writer.js";
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
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

/** Real I/O, except that the next `failures` calls of the chosen kind fail as a full disk would. */
function failingIo(kind: "partial-write" | "sync") {
  let failures = 0;
  const io: SegmentIo = {
    async writev(handle, buffers, position) {
      if (kind !== "partial-write" || failures === 0) return nodeSegmentIo.writev(handle, buffers, position);
      failures--;
      // Half of the first buffer reaches the file before the disk fills up.
      const first = buffers[0]!;
      await nodeSegmentIo.writev(handle, [first.subarray(0, Math.ceil(first.byteLength / 2))], position);
      throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    },
    async datasync(handle) {
      if (kind !== "sync" || failures === 0) return nodeSegmentIo.datasync(handle);
      failures--;
      throw Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
    },
  };
  return { io, failNext: (n: number) => (failures = n) };
}

describe("LocalSink group commit", () => {
  it("acknowledges 500 concurrent appends with far fewer flushes, keeping their order", async () => {
    const sink = await LocalSink.open({ dir });
    const written = Array.from({ length: 500 }, (_, n) =>
      record(n % 5 === 0 ? PROJECT_B : PROJECT_A, "WriteRaw", [bytes(2048, n)], n),
    );
    await Promise.all(written.map((r) => sink.append(r)));
    const { appends, flushes, failedFlushes } = sink.stats;
    await sink.close();

    expect(appends).toBe(500);
    expect(failedFlushes).toBe(0);
    expect(flushes).toBeLessThan(appends / 10);
    const records = recordsOf(await readAll(dir));
    const expected = [
      ...written.filter((r) => r.projectId === PROJECT_A),
      ...written.filter((r) => r.projectId === PROJECT_B),
    ];
    expect(records).toHaveLength(500);
    for (const [i, r] of expected.entries()) expectSameRecord(records[i], r);
  });

  it("writes what arrives during a sync at once, and makes it durable with the next sync", async () => {
    const gates: Array<() => void> = [];
    const syncFails: boolean[] = [];
    let held = true;
    const io: SegmentIo = {
      writev: nodeSegmentIo.writev,
      async datasync(handle) {
        if (held) await new Promise<void>((release) => gates.push(release));
        if (syncFails.shift()) throw Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
        return nodeSegmentIo.datasync(handle);
      },
    };
    const sink = await LocalSink.open({ dir, io });
    const segment = join(dir, PROJECT_A, "0000000000000001.seg");
    const settled: string[] = [];
    const track = (name: string, p: Promise<void>) =>
      p.then(
        () => settled.push(`${name} ok`),
        () => settled.push(`${name} refused`),
      );
    const until = async (check: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 2));
    };

    const a = track("a", sink.append(record(PROJECT_A, "WriteRaw", [bytes(1000, 1)], 1)));
    await until(() => gates.length === 1);
    const sizeWithA = (await stat(segment)).size;
    // b and c arrive while a's sync runs: written at once, before a is acknowledged.
    const b = track("b", sink.append(record(PROJECT_A, "WriteRaw", [bytes(1000, 2)], 2)));
    const c = track("c", sink.append(record(PROJECT_A, "WriteRaw", [bytes(1000, 3)], 3)));
    await until(async () => (await stat(segment)).size > sizeWithA);
    expect(settled).toEqual([]);
    expect(sink.stats).toMatchObject({ appends: 3, writes: 2, flushes: 1 });
    gates.shift()!();
    await a;
    await until(() => gates.length === 1);
    expect(settled).toEqual(["a ok"]);
    // One sync for both.
    gates.shift()!();
    await Promise.all([b, c]);
    expect(settled).toEqual(["a ok", "b ok", "c ok"]);
    expect(sink.stats).toMatchObject({ appends: 3, writes: 2, flushes: 2, failedFlushes: 0 });
    const goodSize = (await stat(segment)).size;

    // A sync fails while the next batch is written: both are refused, and the file is cut back.
    syncFails.push(true);
    const d = track("d", sink.append(record(PROJECT_A, "WriteRaw", [bytes(500, 4)], 4)));
    await until(() => gates.length === 1);
    const e = track("e", sink.append(record(PROJECT_A, "WriteRaw", [bytes(500, 5)], 5)));
    await until(async () => sink.stats.writes === 4);
    held = false;
    gates.shift()!();
    await Promise.all([d, e]);
    expect(settled.slice(3)).toEqual(["d refused", "e refused"]);
    expect((await stat(segment)).size).toBe(goodSize);
    await track("f", sink.append(record(PROJECT_A, "WriteArrow", [bytes(700, 6)], 6)));
    expect(settled[5]).toBe("f ok");
    await sink.close();
    expect(recordsOf(await readAll(dir)).map((r) => r.receivedAt - 1_700_000_000_000)).toEqual([1, 2, 3, 6]);
  });

  it.each(["partial-write", "sync"] as const)(
    "rejects a batch whose %s fails, leaves no trace of it, and accepts later appends",
    async (kind) => {
      const { io, failNext } = failingIo(kind);
      const warnings: string[] = [];
      const sink = await LocalSink.open({ dir, io, onWarning: (message) => warnings.push(message) });
      const before = record(PROJECT_A, "Write", [bytes(500, 1), bytes(200, 2)], 1);
      await sink.append(before);
      const { size: goodSize } = await stat(join(dir, PROJECT_A, "0000000000000001.seg"));

      failNext(1);
      const failed = [2, 3, 4].map((n) => sink.append(record(PROJECT_A, "WriteRaw", [bytes(300, n)], n)));
      for (const result of await Promise.allSettled(failed)) {
        expect(result.status).toBe("rejected");
        expect(result.status === "rejected" && result.reason).toMatchObject({
          kind: "unavailable",
          reason: "sink_write_failed",
          message: "The gateway could not store the profile durably (disk full or failing); retry later.",
        });
      }
      expect((await stat(join(dir, PROJECT_A, "0000000000000001.seg"))).size).toBe(goodSize);
      expect(warnings).toHaveLength(1);

      const after = record(PROJECT_A, "WriteArrow", [bytes(800, 5)], 5);
      await sink.append(after);
      await sink.close();
      const entries = await readAll(dir);
      const records = recordsOf(entries);
      expect(records).toHaveLength(2);
      expectSameRecord(records[0], before);
      expectSameRecord(records[1], after);
      expect(sink.stats.failedFlushes).toBe(1);
    },
  );
});
