import {
  REASON_DEBUGINFO_ALREADY_EXISTS,
  REASON_DEBUGINFO_ALREADY_EXISTS_BUT_FORCED,
  REASON_DEBUGINFO_HASH_DIFFERS,
  REASON_FIRST_TIME_SEEN,
  REASON_UPLOAD_IN_PROGRESS,
  REASON_UPLOAD_IN_PROGRESS_BUT_FORCED,
  REASON_UPLOAD_STALE,
} from "./upload-reasons.js";
import type { UploadRecord } from "./upload-record.js";

/** The answer to ShouldInitiateUpload. */
export interface UploadDecision {
  shouldInitiateUpload: boolean;
  reason: string;
}

/** True when an upload still `uploading` started more than `staleAfterMs` before `now`. */
export const isStale = (record: UploadRecord, now: number, staleAfterMs: number): boolean =>
  record.state === "uploading" && now - record.startedAt > staleAfterMs;

/**
 * Parca's upload policy, without I/O: upload what was never seen, what is stale, what is forced,
 * and a stored file whose proposed replacement has a different non-empty hash; otherwise no.
 */
export function decideUpload(
  record: UploadRecord | undefined,
  request: { hash?: string; force?: boolean },
  now: number,
  staleAfterMs: number,
): UploadDecision {
  const yes = (reason: string): UploadDecision => ({ shouldInitiateUpload: true, reason });
  const no = (reason: string): UploadDecision => ({ shouldInitiateUpload: false, reason });
  if (record === undefined) return yes(REASON_FIRST_TIME_SEEN);
  if (record.state === "uploading") {
    if (request.force) return yes(REASON_UPLOAD_IN_PROGRESS_BUT_FORCED);
    if (isStale(record, now, staleAfterMs)) return yes(REASON_UPLOAD_STALE);
    return no(REASON_UPLOAD_IN_PROGRESS);
  }
  if (request.force) return yes(REASON_DEBUGINFO_ALREADY_EXISTS_BUT_FORCED);
  if (request.hash && request.hash !== record.hash) return yes(REASON_DEBUGINFO_HASH_DIFFERS);
  return no(REASON_DEBUGINFO_ALREADY_EXISTS);
}
