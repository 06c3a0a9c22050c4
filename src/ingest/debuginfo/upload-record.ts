import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../../fs/atomic-file.js";
import { type BuildIdType, type DebuginfoType, isDebuginfoType } from "./debuginfo-type.js";

/** Where one build id and type stands: initiated and receiving, or received and marked finished. */
export type UploadState = "uploading" | "uploaded";

/** The persisted state of the latest upload of one build id and type in one project. */
export interface UploadRecord {
  buildId: string;
  type: DebuginfoType;
  buildIdType: BuildIdType;
  state: UploadState;
  uploadId: string;
  /** As announced by the agent in InitiateUpload; opaque to the gateway. */
  hash: string;
  /** Announced size in bytes; a finished upload has exactly this many. */
  size: number;
  /** Milliseconds since the Unix epoch. */
  startedAt: number;
  finishedAt?: number;
}

const FORMAT_VERSION = 1;

function parseRecord(text: string, path: string): UploadRecord {
  const fail = (): never => {
    throw new Error(
      `The debuginfo state file ${path} is corrupt; remove its folder to let agents re-upload.`,
    );
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail();
  }
  if (typeof raw !== "object" || raw === null) return fail();
  const r = raw as Record<string, unknown>;
  const isString = (key: string) => typeof r[key] === "string";
  const isInteger = (key: string) => Number.isSafeInteger(r[key]);
  if (
    r["version"] !== FORMAT_VERSION ||
    !isString("buildId") ||
    !isString("uploadId") ||
    !isString("hash") ||
    !isString("buildIdType") ||
    !(typeof r["type"] === "string" && isDebuginfoType(r["type"])) ||
    !(r["state"] === "uploading" || r["state"] === "uploaded") ||
    !isInteger("size") ||
    !isInteger("startedAt") ||
    !(r["finishedAt"] === undefined || isInteger("finishedAt"))
  ) {
    return fail();
  }
  const { version: _version, ...record } = r;
  return record as unknown as UploadRecord;
}

/** Reads the record at `path`; undefined when none was ever written. Corrupt files throw. */
export async function readUploadRecord(path: string): Promise<UploadRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseRecord(text, path);
}

/** Replaces the record at `path` atomically (a crash leaves the old or the new one, mode 0600). */
export async function writeUploadRecord(path: string, record: UploadRecord): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ version: FORMAT_VERSION, ...record })}\n`, 0o600);
}
