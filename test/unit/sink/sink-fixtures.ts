import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { SinkEntry } from "../../../src/record-log/record-reader.js";
import { readRecords } from "../../../src/record-log/record-reader.js";
import type { IngestMethod, IngestRecord } from "../../../src/record-log/record.js";

export const PROJECT_A = "3f0c2a4e-7b1d-4c8e-9a2f-0d5e6b7c8a91";
export const PROJECT_B = "b21e8f70-44a3-4e0b-8c6d-9f1a2b3c4d5e";

/** A fresh directory under the OS temp dir; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "profgate-sink-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic bytes, different per seed, so misplaced payloads are noticed. */
export function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function record(projectId: string, method: IngestMethod, payloads: Uint8Array[], n = 0): IngestRecord {
  return {
    receivedAt: 1_700_000_000_000 + n,
    method,
    organizationId: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    projectId,
    serviceAccountId: `sa-${n % 3}`,
    tokenId: `tok-${n}`,
    payloads,
  };
}

export async function readAll(dir: string, projectId?: string): Promise<SinkEntry[]> {
  const entries: SinkEntry[] = [];
  for await (const entry of readRecords(dir, projectId === undefined ? {} : { projectId }))
    entries.push(entry);
  return entries;
}

/** The records of `entries`, failing the test if any entry reports corruption. */
export function recordsOf(entries: SinkEntry[]): IngestRecord[] {
  return entries.map((entry) => {
    if (entry.kind !== "record") throw new Error(`unexpected corruption: ${JSON.stringify(entry)}`);
    return entry.record;
  });
}

/** Asserts two records are equal, payloads byte for byte. */
export function expectSameRecord(actual: IngestRecord | undefined, expected: IngestRecord): void {
  expect(actual).toBeDefined();
  const { payloads, ...rest } = actual!;
  const { payloads: expectedPayloads, ...expectedRest } = expected;
  expect(rest).toEqual(expectedRest);
  expect(payloads.map((p) => p.byteLength)).toEqual(expectedPayloads.map((p) => p.byteLength));
  for (const [i, payload] of payloads.entries()) {
    expect(Buffer.from(payload).equals(Buffer.from(expectedPayloads[i]!))).toBe(true);
  }
}
