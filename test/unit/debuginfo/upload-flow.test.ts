import { readFile, stat as statFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { DebuginfoStore } from "../../../src/ingest/debuginfo/debuginfo-store.js";
import {
  REASON_DEBUGINFO_ALREADY_EXISTS,
  REASON_DEBUGINFO_ALREADY_EXISTS_BUT_FORCED,
  REASON_FIRST_TIME_SEEN,
  REASON_UPLOAD_IN_PROGRESS,
} from "../../../src/ingest/debuginfo/upload-reasons.js";
import { BUILD_ID, bytes, expectDomainError, newStore, PROJECT, uploadAll } from "./debuginfo-fixtures.js";

const key = { projectId: PROJECT, buildId: BUILD_ID, type: "debuginfo" } as const;

describe("DebuginfoStore upload flow", () => {
  it("takes an upload from should-initiate to marked, then declines a second one", async () => {
    const { store } = await newStore();
    expect(await store.shouldInitiateUpload({ ...key, buildIdType: "gnu" })).toEqual({
      shouldInitiateUpload: true,
      reason: REASON_FIRST_TIME_SEEN,
    });

    const data = bytes(20_000);
    const instructions = await store.initiateUpload({ ...key, size: 20_000, hash: "h1", buildIdType: "gnu" });
    expect(instructions).toMatchObject({ buildId: BUILD_ID, uploadStrategy: "grpc", type: "debuginfo" });
    expect(instructions.uploadId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    expect(await store.shouldInitiateUpload(key)).toEqual({
      shouldInitiateUpload: false,
      reason: REASON_UPLOAD_IN_PROGRESS,
    });
    expect(REASON_UPLOAD_IN_PROGRESS).toBe(
      "A previous upload is still in-progress and not stale yet (only stale uploads can be retried).",
    );

    const upload = await store.openUpload({ ...key, uploadId: instructions.uploadId });
    for (const [start, end] of [
      [0, 8192],
      [8192, 8192],
      [8192, 19_999],
      [19_999, 20_000],
    ] as const) {
      await upload.write(data.subarray(start, end));
    }
    expect(await upload.finish()).toEqual({ size: 20_000 });
    expect((await store.stat(key))?.state).toBe("uploading");

    await store.markUploadFinished({ ...key, uploadId: instructions.uploadId });
    const entry = await store.stat(key);
    expect(entry).toMatchObject({
      state: "uploaded",
      size: 20_000,
      hash: "h1",
      buildIdType: "gnu",
      stale: false,
    });
    expect(new Uint8Array(await readFile(entry!.path!))).toEqual(data);

    expect(await store.shouldInitiateUpload(key)).toEqual({
      shouldInitiateUpload: false,
      reason: REASON_DEBUGINFO_ALREADY_EXISTS,
    });
    expect(await store.shouldInitiateUpload({ ...key, hash: "h1" })).toMatchObject({
      shouldInitiateUpload: false,
    });
    const again = await expectDomainError(
      store.initiateUpload({ ...key, size: 1, hash: "h1" }),
      "already_exists",
    );
    expect(again.message).toBe(REASON_DEBUGINFO_ALREADY_EXISTS);
  });

  it("refuses a second initiate while an upload is in progress, so the agent retries later", async () => {
    const { store } = await newStore();
    await store.initiateUpload({ ...key, size: 10, hash: "h1" });
    const error = await expectDomainError(
      store.initiateUpload({ ...key, size: 10, hash: "h1" }),
      "failed_precondition",
    );
    expect(error.message).toBe(REASON_UPLOAD_IN_PROGRESS);
  });

  it("accepts a forced re-upload and replaces the stored bytes", async () => {
    const { store } = await newStore();
    const first = await uploadAll(store, bytes(5000), { hash: "h1" });
    expect(await store.shouldInitiateUpload({ ...key, force: true })).toEqual({
      shouldInitiateUpload: true,
      reason: REASON_DEBUGINFO_ALREADY_EXISTS_BUT_FORCED,
    });

    const second = await uploadAll(store, bytes(3000, 7), { hash: "h2", force: true });
    expect(second.uploadId).not.toBe(first.uploadId);
    const entry = await store.stat(key);
    expect(entry).toMatchObject({ state: "uploaded", size: 3000, hash: "h2", uploadId: second.uploadId });
    expect(new Uint8Array(await readFile(entry!.path!))).toEqual(bytes(3000, 7));
    await expect(statFile(entry!.path!.replace(second.uploadId, first.uploadId))).rejects.toThrow();
  });

  it("accepts a new upload when the proposed hash differs from the stored one", async () => {
    const { store } = await newStore();
    await uploadAll(store, bytes(100), { hash: "h1" });
    expect(await store.shouldInitiateUpload({ ...key, hash: "h2" })).toMatchObject({
      shouldInitiateUpload: true,
    });
    await uploadAll(store, bytes(200), { hash: "h2" });
    expect((await store.stat(key))?.hash).toBe("h2");
  });

  it("stores Go build ids, which contain slashes, without escaping the store folder", async () => {
    const { store, dir } = await newStore();
    const goBuildId = "Zk0LQZ_d6qcMXYeNKfV9/vWbqPEh1-ZEQbwQJpM_g/1K0g-uYOJZBmyULJZu2W/ZB8Ev6lJHSpsgZYJYTqv";
    const data = bytes(4096);
    await uploadAll(store, data, { buildId: goBuildId });
    const entry = await store.stat({ ...key, buildId: goBuildId });
    expect(entry).toMatchObject({ buildId: goBuildId, state: "uploaded" });
    expect(entry!.path!.startsWith(`${dir}/${PROJECT}/`)).toBe(true);
    expect(new Uint8Array(await readFile(entry!.path!))).toEqual(data);

    for (const sneaky of ["../../../etc", "abc/../../x", "./.."]) {
      await store.initiateUpload({ ...key, buildId: sneaky, size: 1, hash: "h" });
      expect((await store.stat({ ...key, buildId: sneaky }))?.buildId).toBe(sneaky);
    }
    expect((await store.list(PROJECT)).map((e) => e.buildId).sort()).toEqual(
      [goBuildId, "../../../etc", "abc/../../x", "./.."].sort(),
    );
  });

  it("keeps uploads and their state across a restart", async () => {
    const { store, dir } = await newStore();
    await uploadAll(store, bytes(1234), { buildId: "aaaa1111" });
    const pending = await store.initiateUpload({ ...key, buildId: "bbbb2222", size: 3, hash: "h" });

    const restarted = new DebuginfoStore({ dir });
    expect(await restarted.shouldInitiateUpload({ ...key, buildId: "aaaa1111" })).toMatchObject({
      shouldInitiateUpload: false,
      reason: REASON_DEBUGINFO_ALREADY_EXISTS,
    });
    expect(await restarted.shouldInitiateUpload({ ...key, buildId: "bbbb2222" })).toMatchObject({
      reason: REASON_UPLOAD_IN_PROGRESS,
    });
    const upload = await restarted.openUpload({ ...key, buildId: "bbbb2222", uploadId: pending.uploadId });
    await upload.write(Uint8Array.of(1, 2, 3));
    await upload.finish();
    await restarted.markUploadFinished({ ...key, buildId: "bbbb2222", uploadId: pending.uploadId });
    expect((await restarted.list(PROJECT)).map((e) => [e.buildId, e.state, e.size])).toEqual([
      ["aaaa1111", "uploaded", 1234],
      ["bbbb2222", "uploaded", 3],
    ]);
  });

  it("writes state and data files only the owner can read", async () => {
    const { store, dir } = await newStore();
    await uploadAll(store, bytes(10));
    const entry = await store.stat(key);
    expect((await statFile(entry!.path!)).mode & 0o777).toBe(0o600);
    expect((await statFile(`${dir}/${PROJECT}`)).mode & 0o777).toBe(0o700);
    expect((await statFile(dir)).mode & 0o777).toBe(0o700);
  });
});
