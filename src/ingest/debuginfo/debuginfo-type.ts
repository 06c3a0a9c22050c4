import { invalidArgument } from "../../errors.js";

/**
 * What kind of file an upload carries. Also the folder name under a build id, so the names
 * follow Parca's object paths (`<build id>/debuginfo`, `/executable`, `/sources`).
 */
export type DebuginfoType = "debuginfo" | "executable" | "sources" | "source_map";

/** How the agent derived the build id; recorded, never interpreted. */
export type BuildIdType = "unknown" | "gnu" | "hash" | "go" | "source_map_debug_id";

/** Indexed by the `parca.debuginfo.v1alpha1.DebuginfoType` enum number. */
const DEBUGINFO_TYPES: readonly DebuginfoType[] = ["debuginfo", "executable", "sources", "source_map"];

/** Indexed by the `parca.debuginfo.v1alpha1.BuildIDType` enum number. */
const BUILD_ID_TYPES: readonly BuildIdType[] = ["unknown", "gnu", "hash", "go", "source_map_debug_id"];

/** True for the names `DebuginfoType` allows, e.g. when reading a folder name back. */
export const isDebuginfoType = (value: string): value is DebuginfoType =>
  (DEBUGINFO_TYPES as readonly string[]).includes(value);

/** Maps the wire enum number (0 = unspecified = plain debuginfo) to a type; unknown numbers are invalid. */
export function debuginfoTypeFromWire(value: number): DebuginfoType {
  const type = DEBUGINFO_TYPES[value];
  if (type === undefined) {
    throw invalidArgument(`The debuginfo type ${value} is not supported.`, "debuginfo_type_invalid");
  }
  return type;
}

/** The wire enum number of a type; inverse of `debuginfoTypeFromWire`. */
export const debuginfoTypeToWire = (type: DebuginfoType): number => DEBUGINFO_TYPES.indexOf(type);

/** Maps the wire enum number to a build id type; numbers from newer agents become "unknown". */
export const buildIdTypeFromWire = (value: number): BuildIdType => BUILD_ID_TYPES[value] ?? "unknown";
