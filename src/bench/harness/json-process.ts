import { execFile } from "node:child_process";

/** Runs `node script args` in its own process and parses the JSON document it prints. */
export function runJsonProcess<T>(script: string, args: string[], timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [script, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`${script} failed: ${error.message}\n${stderr.split("\n").slice(-20).join("\n")}`),
          );
          return;
        }
        try {
          resolve(JSON.parse(stdout) as T);
        } catch {
          reject(new Error(`${script} printed no JSON:\n${stdout.slice(0, 2000)}\n${stderr.slice(-2000)}`));
        }
      },
    );
  });
}
