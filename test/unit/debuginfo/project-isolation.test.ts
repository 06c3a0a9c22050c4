import { describe, expect, it } from "vitest";
import { REASON_FIRST_TIME_SEEN } from "../../../src/ingest/debuginfo/upload-reasons.js";
import { BUILD_ID, bytes, expectDomainError, newStore, PROJECT, uploadAll } from "./debuginfo-fixtures.js";

const OTHER = "7f1c2b9a-0c55-4d4b-8f7e-5e2a1d3c4b6f";
const key = { buildId: BUILD_ID, type: "debuginfo" } as const;

describe("DebuginfoStore projects", () => {
  it("keeps one project's debuginfo invisible to another", async () => {
    const { store } = await newStore();
    const { uploadId } = await uploadAll(store, bytes(64), { projectId: PROJECT });

    expect(await store.shouldInitiateUpload({ ...key, projectId: OTHER })).toEqual({
      shouldInitiateUpload: true,
      reason: REASON_FIRST_TIME_SEEN,
    });
    expect(await store.stat({ ...key, projectId: OTHER })).toBeUndefined();
    expect(await store.list(OTHER)).toEqual([]);
    await expectDomainError(store.openUpload({ ...key, projectId: OTHER, uploadId }), "not_found");
    await expectDomainError(store.markUploadFinished({ ...key, projectId: OTHER, uploadId }), "not_found");

    await uploadAll(store, bytes(32), { projectId: OTHER });
    expect((await store.list(PROJECT)).map((e) => e.size)).toEqual([64]);
    expect((await store.list(OTHER)).map((e) => e.size)).toEqual([32]);
  });

  it("keeps the types of one build id apart", async () => {
    const { store } = await newStore();
    await uploadAll(store, bytes(8), { projectId: PROJECT });
    expect(
      await store.shouldInitiateUpload({ ...key, projectId: PROJECT, type: "executable" }),
    ).toMatchObject({ shouldInitiateUpload: true });
    await store.initiateUpload({ ...key, projectId: PROJECT, type: "executable", size: 3, hash: "h" });
    expect((await store.list(PROJECT)).map((e) => [e.type, e.state])).toEqual([
      ["debuginfo", "uploaded"],
      ["executable", "uploading"],
    ]);
  });
});
