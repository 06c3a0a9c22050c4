import { readFileSync } from "node:fs";
import { ConfigError } from "./load-flags.js";

/** The content of the file a flag names, read at start; a ConfigError names the flag, never the content. */
export function readFlagFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `Invalid ${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "unreadable"}).`,
    );
  }
}
