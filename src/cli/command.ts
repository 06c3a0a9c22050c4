import { DomainError } from "../errors.js";
import { redactTokens } from "../token/redact.js";

/** A subcommand: gets the arguments after its name; sets process.exitCode on failure. */
export type Command = (args: string[]) => Promise<void>;

/** Ends a command with one plain sentence on stderr, no stack trace. */
export function fail(message: string, exitCode = 1): void {
  process.stderr.write(`profgate: ${redactTokens(message)}\n`);
  process.exitCode = exitCode;
}

/**
 * The exit code of a command that threw `error`: 2 when the command line itself is wrong
 * (node:util's parseArgs refused it, or a check of this process found a flag missing or a value
 * it cannot use: an `invalid_argument` DomainError), 1 for a run that failed. A server's refusal
 * reaches the CLI as a gRPC error, never as a DomainError, so it stays 1.
 */
export function exitCodeFor(error: unknown): 1 | 2 {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) return 2;
  return error instanceof DomainError && error.kind === "invalid_argument" ? 2 : 1;
}
