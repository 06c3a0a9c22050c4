import { invalidArgument } from "../../errors.js";

/**
 * Longest build id accepted, in UTF-8 bytes. Its hex form names a folder, and 2 x 120 = 240 stays
 * under the 255-byte file name limit; real ids are far shorter (GNU 40, Go about 83 characters).
 */
export const MAX_BUILD_ID_BYTES = 120;

const MAX_HASH_LENGTH = 512;
const PROJECT_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Accepts ids that are safe as one folder name (letters, digits, `.`, `_`, `-`; no `.`/`..`). */
export function validateProjectId(projectId: string): void {
  if (!PROJECT_ID.test(projectId)) {
    throw invalidArgument("The project id is not valid.", "project_id_invalid");
  }
}

/**
 * Parca's rule (longer than 2 bytes) plus what the folder layout needs: at most
 * `MAX_BUILD_ID_BYTES`, no control characters. `/` and `..` are fine: Go build ids contain `/`,
 * and the id is hex-encoded before it names a folder.
 */
export function validateBuildId(buildId: string): void {
  const bytes = Buffer.byteLength(buildId, "utf8");
  if (bytes <= 2) {
    throw invalidArgument(
      "The build id is too short; it must be longer than 2 characters.",
      "build_id_too_short",
    );
  }
  if (bytes > MAX_BUILD_ID_BYTES) {
    throw invalidArgument(
      `The build id is too long; it must be at most ${MAX_BUILD_ID_BYTES} bytes.`,
      "build_id_too_long",
    );
  }
  if (CONTROL_CHARACTER.test(buildId)) {
    throw invalidArgument("The build id contains control characters.", "build_id_invalid");
  }
}

/** InitiateUpload needs the hash of the file it announces (Parca: "hash must be set"). */
export function validateHash(hash: string): void {
  if (hash.length === 0) throw invalidArgument("The hash must be set to initiate an upload.", "hash_missing");
  if (hash.length > MAX_HASH_LENGTH) {
    throw invalidArgument(`The hash is longer than ${MAX_HASH_LENGTH} characters.`, "hash_invalid");
  }
}

/** Returns the announced size as a number once it is a whole number in `1..maxBytes`. */
export function validateSize(size: number | bigint, maxBytes: number): number {
  const asNumber = typeof size === "bigint" ? Number(size) : size;
  if (!Number.isInteger(asNumber) || asNumber <= 0) {
    throw invalidArgument("The size must be set to the number of bytes to upload.", "size_invalid");
  }
  if (asNumber > maxBytes) {
    throw invalidArgument(
      `The upload size ${size} exceeds the maximum allowed size of ${maxBytes} bytes.`,
      "size_too_large",
    );
  }
  return asNumber;
}
