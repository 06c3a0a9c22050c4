import { type FileHandle, mkdir, open, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The local sink's directory layout: `<dir>/<projectId>/<16-digit sequence>.seg`, directories
 * mode 0700, segment files mode 0600. Sequences start at 1 and only grow.
 */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

const PROJECT_ID = /^[0-9a-f-]{1,64}$/;
const SEGMENT_NAME = /^(\d{16})\.seg$/;

/**
 * True if `projectId` can name a directory safely: lowercase hex digits and dashes only (a
 * UUID), so it can never contain a separator, `..`, or anything a shell would interpret.
 */
export function isSafeProjectId(projectId: string): boolean {
  return PROJECT_ID.test(projectId);
}

/** The file name of segment `sequence`, zero-padded so names sort like numbers. */
export function segmentFileName(sequence: number): string {
  return `${String(sequence).padStart(16, "0")}.seg`;
}

/** The path of segment `sequence` in a project directory. */
export function segmentPath(projectDir: string, sequence: number): string {
  return join(projectDir, segmentFileName(sequence));
}

/** Project ids with a directory under `dir`, sorted; other entries are ignored. Missing `dir`: none. */
export async function listProjects(dir: string): Promise<string[]> {
  const entries = await readdirOrEmpty(dir);
  return entries
    .filter((e) => e.isDirectory() && isSafeProjectId(e.name))
    .map((e) => e.name)
    .sort();
}

/** Segment sequences of a project directory, ascending; other files are ignored. Missing directory: none. */
export async function listSegments(projectDir: string): Promise<number[]> {
  const entries = await readdirOrEmpty(projectDir);
  const sequences: number[] = [];
  for (const entry of entries) {
    const match = entry.isFile() ? SEGMENT_NAME.exec(entry.name) : null;
    if (match?.[1] !== undefined) sequences.push(Number(match[1]));
  }
  return sequences.sort((a, b) => a - b);
}

/** Creates a directory (mode 0700) if missing; true if this call created it. */
export async function ensureDir(path: string): Promise<boolean> {
  try {
    await mkdir(path, { mode: DIR_MODE });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** Makes a directory's entries durable (new files, new subdirectories). */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Opens segment `sequence` for writing at explicit positions (no O_APPEND), creating it with
 * mode 0600 if missing. A new file's directory entry is synced before this resolves.
 */
export async function openSegment(projectDir: string, sequence: number): Promise<FileHandle> {
  const path = segmentPath(projectDir, sequence);
  let handle: FileHandle;
  let created = false;
  try {
    handle = await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    handle = await open(path, "wx+", FILE_MODE);
    created = true;
  }
  if (created) {
    try {
      await syncDir(projectDir);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  return handle;
}

async function readdirOrEmpty(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
