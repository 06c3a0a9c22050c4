import { execFile } from "node:child_process";
import { resolve } from "node:path";

const CLI = resolve(import.meta.dirname, "../../dist/cli/profgate.js");

/** The result of one `profgate` invocation. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `profgate` CLI with `args`; never rejects, the exit code tells. */
export function profgate(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a `profgate iam` command expected to succeed with `-o json` and parses its output. */
export async function iamJson<T = Record<string, unknown>>(
  server: string,
  tokenFile: string,
  args: string[],
): Promise<T> {
  const result = await profgate([
    "iam",
    ...args,
    "--server",
    server,
    "--token-file",
    tokenFile,
    "-o",
    "json",
  ]);
  if (result.code !== 0)
    throw new Error(`profgate iam ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
