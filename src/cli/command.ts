import { redactTokens } from "../token/redact.js";

/** A subcommand: gets the arguments after its name; sets process.exitCode on failure. */
export type Command = (args: string[]) => Promise<void>;

/** Ends a command with one plain sentence on stderr, no stack trace. */
export function fail(message: string, exitCode = 1): void {
  process.stderr.write(`profgate: ${redactTokens(message)}\n`);
  process.exitCode = exitCode;
}
