import { describe, expect, it } from "vitest";
import {
  REASON_UPLOAD_IN_PROGRESS,
  REASON_UPLOAD_IN_PROGRESS_BUT_FORCED,
  REASON_UPLOAD_STALE,
} from "../../../src/ingest/debuginfo/upload-reasons.js";
import { BUILD_ID, bytes, expectDomainError, fakeClock, newStore, PROJECT } from "./debuginfo-fixtures.js";

const key = { projectId: PROJECT, buildId: BUILD_ID, type: "debuginfo" } as const;
const MINUTE = 60_000;

describe("DebuginfoStore stale uploads", () => {
  it("lets a new upload replace one left unfinished for more than 15 minutes", async () => {
    const clock = fakeClock();
    const { store } = await newStore({ now: clock.now });
    const abandoned = await store.initiateUpload({ ...key, size: 100, hash: "h1" });
    const oldStream = await store.openUpload({ ...key, uploadId: abandoned.uploadId });
    await oldStream.write(bytes(50));

    clock.advance(15 * MINUTE);
    expect(await store.shouldInitiateUpload(key)).toEqual({
      shouldInitiateUpload: false,
      reason: REASON_UPLOAD_IN_PROGRESS,
    });
    await expectDomainError(store.initiateUpload({ ...key, size: 100, hash: "h1" }), "failed_precondition");

    clock.advance(1);
    expect(await store.shouldInitiateUpload(key)).toEqual({
      shouldInitiateUpload: true,
      reason: REASON_UPLOAD_STALE,
    });
    expect((await store.stat(key))?.stale).toBe(true);

    const fresh = await store.initiateUpload({ ...key, size: 20, hash: "h2" });
    expect(fresh.uploadId).not.toBe(abandoned.uploadId);
    expect(await store.shouldInitiateUpload(key)).toMatchObject({ reason: REASON_UPLOAD_IN_PROGRESS });

    // The abandoned stream can no longer land its bytes over the new upload.
    await oldStream.write(bytes(50));
    await expectDomainError(oldStream.finish(), "not_found");
    await expectDomainError(store.markUploadFinished({ ...key, uploadId: abandoned.uploadId }), "not_found");

    const upload = await store.openUpload({ ...key, uploadId: fresh.uploadId });
    await upload.write(bytes(20));
    await upload.finish();
    await store.markUploadFinished({ ...key, uploadId: fresh.uploadId });
    expect(await store.stat(key)).toMatchObject({ state: "uploaded", size: 20, hash: "h2", stale: false });
  });

  it("uses the injected stale duration and accepts a forced restart of a running upload", async () => {
    const clock = fakeClock();
    const { store } = await newStore({ now: clock.now, staleAfterMs: 1000 });
    await store.initiateUpload({ ...key, size: 1, hash: "h" });
    expect(await store.shouldInitiateUpload({ ...key, force: true })).toEqual({
      shouldInitiateUpload: true,
      reason: REASON_UPLOAD_IN_PROGRESS_BUT_FORCED,
    });
    clock.advance(1001);
    expect(await store.shouldInitiateUpload(key)).toMatchObject({ shouldInitiateUpload: true });
  });
});
