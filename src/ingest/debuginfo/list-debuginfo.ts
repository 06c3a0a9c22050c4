import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { isStale } from "./decide-upload.js";
import type { DebuginfoLayout } from "./debuginfo-layout.js";
import { isDebuginfoType } from "./debuginfo-type.js";
import { readUploadRecord, type UploadRecord } from "./upload-record.js";

/** What the store knows about one build id and type, for listings and the `profgate` command. */
export interface DebuginfoEntry extends UploadRecord {
  /** True while `uploading` and older than the stale duration: a new upload will be accepted. */
  stale: boolean;
  /** The stored file, once `uploaded`. */
  path?: string;
}

/** How `toEntry` judges staleness: the store's clock and stale duration. */
export interface Staleness {
  now: number;
  staleAfterMs: number;
}

/** Adds to a record what a reader wants: whether it is stale, and where its file is. */
export function toEntry(
  layout: DebuginfoLayout,
  typeDir: string,
  record: UploadRecord,
  staleness: Staleness,
): DebuginfoEntry {
  const entry: DebuginfoEntry = { ...record, stale: isStale(record, staleness.now, staleness.staleAfterMs) };
  if (record.state === "uploaded") entry.path = layout.dataPath(typeDir, record.uploadId);
  return entry;
}

async function subfolders(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Every build id and type one project has a record for, ordered by build id, then type. */
export async function listDebuginfo(
  layout: DebuginfoLayout,
  projectId: string,
  staleness: Staleness,
): Promise<DebuginfoEntry[]> {
  const entries: DebuginfoEntry[] = [];
  const projectDir = layout.projectDir(projectId);
  for (const buildFolder of await subfolders(projectDir)) {
    for (const type of await subfolders(join(projectDir, buildFolder))) {
      if (!isDebuginfoType(type)) continue;
      const typeDir = join(projectDir, buildFolder, type);
      const record = await readUploadRecord(layout.recordPath(typeDir));
      if (record !== undefined) entries.push(toEntry(layout, typeDir, record, staleness));
    }
  }
  const byKey = (a: DebuginfoEntry, b: DebuginfoEntry) =>
    a.buildId < b.buildId ? -1 : a.buildId > b.buildId ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
  return entries.sort(byKey);
}
