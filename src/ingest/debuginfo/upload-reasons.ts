/*
 * The `reason` sentences of ShouldInitiateUpload, worded as Parca's server words them. The agent
 * compares the in-progress one byte for byte (it retries after 5 min on that one, never on others).
 */

/** No upload was ever initiated for this build id and type. */
export const REASON_FIRST_TIME_SEEN = "First time we see this Build ID, therefore please upload!";

/** The exact sentence parca-agent matches to retry later; do not reword. */
export const REASON_UPLOAD_IN_PROGRESS =
  "A previous upload is still in-progress and not stale yet (only stale uploads can be retried).";

/** An upload was initiated but neither finished nor marked within the stale duration. */
export const REASON_UPLOAD_STALE =
  "A previous upload was started but not finished and is now stale, so it can be retried.";

/** An upload is in progress, but the agent asked to force a new one. */
export const REASON_UPLOAD_IN_PROGRESS_BUT_FORCED =
  "A previous upload is in-progress, but accepting restart because it's requested to be forced.";

/** The debuginfo is stored and the request neither forces nor proposes a different hash. */
export const REASON_DEBUGINFO_ALREADY_EXISTS =
  "Debuginfo already exists and is not marked as invalid, therefore no new upload is needed.";

/** The debuginfo is stored, but the agent asked to force a new upload. */
export const REASON_DEBUGINFO_ALREADY_EXISTS_BUT_FORCED =
  "Debuginfo already exists and is not marked as invalid, therefore wouldn't have accepted a new upload, but accepting it because it's requested to be forced.";

/** The debuginfo is stored, but the agent proposes a file with another hash. */
export const REASON_DEBUGINFO_HASH_DIFFERS =
  "Debuginfo already exists but the proposed hash differs from the stored one, therefore a new upload will be accepted.";
