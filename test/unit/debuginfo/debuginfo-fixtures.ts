import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect } from "vitest";
import { DomainError, type ErrorKind } from "../../../src/errors.js";
import {
  DebuginfoStore,
  type DebuginfoStoreOptions,
  type UploadInstructions,
} from "../../../src/ingest/debuginfo/debuginfo-store.js";

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh `<tmp>/debuginfo` folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "profgate-debuginfo-"));
  dirs.push(root);
  return join(root, "debuginfo");
}

/** A controllable clock starting at a fixed instant. */
export function fakeClock(start = Date.UTC(2025, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export async function newStore(options: Partial<DebuginfoStoreOptions> = {}) {
  const dir = options.dir ?? (await tempDir());
  return { dir, store: new DebuginfoStore({ ...options, dir }) };
}

export const PROJECT = "0b6f3c1e-6d2a-4a4e-9a57-2d8c3f0e5a11";
export const BUILD_ID = "2d6912fd3dd64638243b6cba6a7e6c2f38e3ee0c";

/** Bytes 0..n-1 (mod 251), so that misplaced chunks show up as different content. */
export const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) % 251);

/** Initiates and sends `data` in chunks of `chunkSize`, then finishes and marks the upload. */
export async function uploadAll(
  store: DebuginfoStore,
  data: Uint8Array,
  key: { projectId?: string; buildId?: string; hash?: string; force?: boolean } = {},
  chunkSize = 1000,
): Promise<UploadInstructions> {
  const projectId = key.projectId ?? PROJECT;
  const buildId = key.buildId ?? BUILD_ID;
  const instructions = await store.initiateUpload({
    projectId,
    buildId,
    type: "debuginfo",
    size: data.byteLength,
    hash: key.hash ?? "hash-1",
    force: key.force ?? false,
  });
  const upload = await store.openUpload({
    projectId,
    buildId,
    type: "debuginfo",
    uploadId: instructions.uploadId,
  });
  for (let offset = 0; offset < data.byteLength; offset += chunkSize) {
    await upload.write(data.subarray(offset, offset + chunkSize));
  }
  await upload.finish();
  await store.markUploadFinished({ projectId, buildId, type: "debuginfo", uploadId: instructions.uploadId });
  return instructions;
}

/** Asserts that `promise` rejects with a DomainError of `kind` and returns it. */
export async function expectDomainError(promise: Promise<unknown>, kind: ErrorKind): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).kind).toBe(kind);
  return error as DomainError;
}
