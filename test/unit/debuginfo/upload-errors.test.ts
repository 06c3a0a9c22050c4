import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeBuildId } from "../../../src/ingest/debuginfo/debuginfo-layout.js";
import { BUILD_ID, bytes, expectDomainError, newStore, PROJECT, uploadAll } from "./debuginfo-fixtures.js";

const key = { projectId: PROJECT, buildId: BUILD_ID, type: "debuginfo" } as const;

describe("DebuginfoStore rejections", () => {
  it("rejects sizes that are missing or above the limit before recording anything", async () => {
    const { store } = await newStore({ maxUploadBytes: 1000 });
    for (const size of [0, -1, 1.5, 1001, 10n ** 12n]) {
      await expectDomainError(store.initiateUpload({ ...key, size, hash: "h" }), "invalid_argument");
    }
    expect(await store.stat(key)).toBeUndefined();
    await store.initiateUpload({ ...key, size: 1000n, hash: "h" });
  });

  it("limits uploads to 1 GB by default", async () => {
    const { store } = await newStore();
    const error = await expectDomainError(
      store.initiateUpload({ ...key, size: 1_000_000_001, hash: "h" }),
      "invalid_argument",
    );
    expect(error.reason).toBe("size_too_large");
    await store.initiateUpload({ ...key, size: 1_000_000_000, hash: "h" });
  });

  it("rejects an empty hash, short build ids and unsafe project ids", async () => {
    const { store } = await newStore();
    const empty = await expectDomainError(
      store.initiateUpload({ ...key, size: 1, hash: "" }),
      "invalid_argument",
    );
    expect(empty.reason).toBe("hash_missing");
    for (const buildId of ["", "a", "ab"]) {
      const error = await expectDomainError(
        store.shouldInitiateUpload({ ...key, buildId }),
        "invalid_argument",
      );
      expect(error.reason).toBe("build_id_too_short");
      await expectDomainError(
        store.initiateUpload({ ...key, buildId, size: 1, hash: "h" }),
        "invalid_argument",
      );
    }
    await store.shouldInitiateUpload({ ...key, buildId: "abc" });
    await expectDomainError(
      store.shouldInitiateUpload({ ...key, buildId: "abc\u0000def" }),
      "invalid_argument",
    );
    await expectDomainError(
      store.shouldInitiateUpload({ ...key, buildId: "a".repeat(121) }),
      "invalid_argument",
    );
    for (const projectId of ["", ".", "..", "a/b", "../x", "a\u0000"]) {
      await expectDomainError(store.shouldInitiateUpload({ ...key, projectId }), "invalid_argument");
      await expectDomainError(store.list(projectId), "invalid_argument");
    }
  });

  it("discards an upload as soon as it exceeds the announced size", async () => {
    const { store, dir } = await newStore();
    const { uploadId } = await store.initiateUpload({ ...key, size: 10, hash: "h" });
    const upload = await store.openUpload({ ...key, uploadId });
    await upload.write(bytes(6));
    const error = await expectDomainError(upload.write(bytes(5)), "invalid_argument");
    expect(error.reason).toBe("upload_too_large");
    await expectDomainError(upload.write(bytes(1)), "failed_precondition");
    await upload.abort();
    const typeDir = join(dir, PROJECT, encodeBuildId(BUILD_ID), "debuginfo");
    expect(await readdir(typeDir)).toEqual(["state.json"]);
    await expectDomainError(store.markUploadFinished({ ...key, uploadId }), "failed_precondition");
  });

  it("rejects finishing an upload with fewer bytes than announced, and marking it", async () => {
    const { store } = await newStore();
    const { uploadId } = await store.initiateUpload({ ...key, size: 10, hash: "h" });
    const upload = await store.openUpload({ ...key, uploadId });
    await upload.write(bytes(9));
    const error = await expectDomainError(upload.finish(), "invalid_argument");
    expect(error.reason).toBe("upload_incomplete");
    await expectDomainError(store.markUploadFinished({ ...key, uploadId }), "failed_precondition");
    expect((await store.stat(key))?.state).toBe("uploading");

    const retry = await store.openUpload({ ...key, uploadId });
    await retry.write(bytes(10));
    await retry.finish();
    await store.markUploadFinished({ ...key, uploadId });
    await store.markUploadFinished({ ...key, uploadId });
    expect((await store.stat(key))?.state).toBe("uploaded");
  });

  it("answers not_found for unknown upload ids and failed_precondition for finished ones", async () => {
    const { store } = await newStore();
    const unknown = "00000000-0000-4000-8000-000000000000";
    await expectDomainError(store.openUpload({ ...key, uploadId: unknown }), "not_found");
    await expectDomainError(store.markUploadFinished({ ...key, uploadId: unknown }), "not_found");

    const { uploadId } = await uploadAll(store, bytes(10));
    await expectDomainError(store.openUpload({ ...key, uploadId: unknown }), "not_found");
    await expectDomainError(store.openUpload({ ...key, uploadId: "../../state.json" }), "not_found");
    await expectDomainError(store.openUpload({ ...key, uploadId }), "failed_precondition");
    await expectDomainError(store.openUpload({ ...key, type: "executable", uploadId }), "not_found");
  });

  it("allows one open stream per upload id", async () => {
    const { store } = await newStore();
    const { uploadId } = await store.initiateUpload({ ...key, size: 4, hash: "h" });
    const first = await store.openUpload({ ...key, uploadId });
    await expectDomainError(store.openUpload({ ...key, uploadId }), "failed_precondition");
    await first.abort();
    await first.abort();
    const second = await store.openUpload({ ...key, uploadId });
    await second.write(bytes(4));
    await second.finish();
    await expectDomainError(second.finish(), "failed_precondition");
  });
});
