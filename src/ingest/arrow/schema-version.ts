import { invalidArgument } from "../../errors.js";
import { readIpcStream } from "./read-ipc-stream.js";
import type { IpcSchema } from "./read-schema.js";

/** The schema metadata key with which agents tag their Arrow payloads. */
export const SCHEMA_VERSION_KEY = "parca_write_schema_version";

/** `v1`: the Write exchange's records; `v2`: self-contained WriteArrow payloads. */
export type SchemaVersion = "v1" | "v2";

/**
 * The version tagged in a parsed schema's metadata. Throws `invalidArgument` (reason
 * `unknown_schema_version`) when the key is missing or holds anything but `v1` or `v2`.
 */
export function versionOf(schema: IpcSchema): SchemaVersion {
  const version = schema.metadata.get(SCHEMA_VERSION_KEY);
  if (version === "v1" || version === "v2") return version;
  throw invalidArgument(
    `The Arrow schema metadata must set ${SCHEMA_VERSION_KEY} to v1 or v2.`,
    "unknown_schema_version",
  );
}

/**
 * Validates that `bytes` is a well-framed Arrow IPC stream (see `readIpcStream`) and returns the
 * schema version it declares. Cost is linear in the number of messages, not in buffer sizes; nothing
 * is decompressed. Throws `invalidArgument` for anything else.
 */
export function schemaVersion(bytes: Uint8Array): SchemaVersion {
  return versionOf(readIpcStream(bytes).schema);
}
