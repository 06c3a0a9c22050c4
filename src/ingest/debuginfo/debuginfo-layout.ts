import { join } from "node:path";
import type { DebuginfoType } from "./debuginfo-type.js";

/** Names of the files inside one `<project>/<build id hex>/<type>/` folder. */
export const RECORD_FILE = "state.json";
const UPLOAD_FILE = /^upload-[0-9a-f-]{36}\.(part|data)$/;

/** A build id as a folder name: hex of its UTF-8 bytes, safe for `/`, `..` and case-insensitive disks. */
export const encodeBuildId = (buildId: string): string => Buffer.from(buildId, "utf8").toString("hex");

/**
 * Where one project's debuginfo lives under the store's folder:
 * `<dir>/<projectId>/<hex(buildId)>/<type>/` holding `state.json`, the received
 * `upload-<uploadId>.data` and, while a stream is open, `upload-<uploadId>.part`.
 * Inputs must have passed validation; this only joins names.
 */
export class DebuginfoLayout {
  constructor(readonly dir: string) {}

  projectDir(projectId: string): string {
    return join(this.dir, projectId);
  }

  typeDir(projectId: string, buildId: string, type: DebuginfoType): string {
    return join(this.dir, projectId, encodeBuildId(buildId), type);
  }

  recordPath(typeDir: string): string {
    return join(typeDir, RECORD_FILE);
  }

  partPath(typeDir: string, uploadId: string): string {
    return join(typeDir, `upload-${uploadId}.part`);
  }

  dataPath(typeDir: string, uploadId: string): string {
    return join(typeDir, `upload-${uploadId}.data`);
  }

  /** True for the names `partPath` and `dataPath` produce, so cleanup touches nothing else. */
  isUploadFile(name: string): boolean {
    return UPLOAD_FILE.test(name);
  }
}
