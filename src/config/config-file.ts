import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { FlagSpec } from "./flag-spec.js";
import { ConfigError } from "./load-flags.js";

/**
 * Reads a YAML config file whose keys are flag names (`grpc-address: 0.0.0.0:7070`). Values
 * become the text a flag would take (lists are joined with commas); an unknown key, a nested
 * value or a file that is not a mapping is a ConfigError naming it.
 */
export async function readConfigFile(
  path: string,
  specs: Record<string, FlagSpec>,
): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `Cannot read the config file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigError(
      `The config file ${path} is not valid YAML: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new ConfigError(`The config file ${path} must be a mapping of flag names to values.`);
  }
  const known = new Set(Object.values(specs).map((s) => s.name));
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(document)) {
    if (!known.has(key) || key === "config") {
      throw new ConfigError(
        `Unknown key ${JSON.stringify(key)} in ${path}; the keys are the flag names of --help.`,
      );
    }
    if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null)) {
      values[key] = value.map(String).join(",");
    } else if (value === null || typeof value === "object") {
      throw new ConfigError(`${key} in ${path} must be a plain value.`);
    } else {
      values[key] = String(value);
    }
  }
  return values;
}
