import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { DomainError } from "../../../src/errors.js";
import { DebuginfoStore } from "../../../src/ingest/debuginfo/debuginfo-store.js";
import { BUILD_ID, bytes, newStore, PROJECT } from "./debuginfo-fixtures.js";

const key = { projectId: PROJECT, buildId: BUILD_ID, type: "debuginfo" } as const;

describe("DebuginfoStore under concurrent requests", () => {
  it("grants exactly one of many simultaneous initiates for one build id", async () => {
    const { store, dir } = await newStore();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => store.initiateUpload({ ...key, size: 5, hash: "h" })),
    );
    const granted = results.filter((r) => r.status === "fulfilled");
    expect(granted).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as DomainError).kind).toBe("failed_precondition");
    }
    const uploadId = (granted[0] as PromiseFulfilledResult<{ uploadId: string }>).value.uploadId;
    expect((await new DebuginfoStore({ dir }).stat(key))?.uploadId).toBe(uploadId);
  });

  it("keeps chunk order when writes are not awaited one by one", async () => {
    const { store } = await newStore();
    const data = bytes(10_000);
    const { uploadId } = await store.initiateUpload({ ...key, size: data.byteLength, hash: "h" });
    const upload = await store.openUpload({ ...key, uploadId });
    const writes = [];
    for (let offset = 0; offset < data.byteLength; offset += 100) {
      writes.push(upload.write(data.subarray(offset, offset + 100)));
    }
    await Promise.all(writes);
    await upload.finish();
    await store.markUploadFinished({ ...key, uploadId });
    expect(new Uint8Array(await readFile((await store.stat(key))!.path!))).toEqual(data);
  });

  it("uploads different build ids in parallel", async () => {
    const { store } = await newStore();
    const ids = Array.from({ length: 8 }, (_, i) => `build-${i}-${"f".repeat(8)}`);
    await Promise.all(
      ids.map(async (buildId, i) => {
        const data = bytes(3000 + i, i);
        const { uploadId } = await store.initiateUpload({
          ...key,
          buildId,
          size: data.byteLength,
          hash: "h",
        });
        const upload = await store.openUpload({ ...key, buildId, uploadId });
        await upload.write(data.subarray(0, 1000));
        await upload.write(data.subarray(1000));
        await upload.finish();
        await store.markUploadFinished({ ...key, buildId, uploadId });
      }),
    );
    expect((await store.list(PROJECT)).map((e) => [e.buildId, e.state, e.size])).toEqual(
      ids.map((id, i) => [id, "uploaded", 3000 + i]),
    );
  });
});
