import { relative, resolve } from "node:path";

const WHY: Record<string, string> = {
  EACCES: "this user may not write there",
  EPERM: "this user may not write there",
  EROFS: "it is on a read-only file system",
  ENOTDIR: "a part of its path is a file",
  EEXIST: "a file is where a directory should be",
  ENOSPC: "its disk is full",
};

/**
 * A file-system error on a path inside `--data-dir`, as one sentence naming the flag and what to
 * fix (`--data-dir /data cannot be used: mkdir /data/sink: this user may not write there
 * (EACCES); ...`). Any other error is returned unchanged.
 */
export function dataDirError(error: unknown, dataDir: string): unknown {
  const { code, path, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof code !== "string" || typeof path !== "string") return error;
  const dir = resolve(dataDir);
  const inside = relative(dir, resolve(path));
  if (inside.startsWith("..")) return error;
  const why = WHY[code] ?? "it cannot be used";
  return new Error(
    `--data-dir ${dir} cannot be used: ${syscall ?? "access"} ${path}: ${why} (${code}); pass a directory this user can write, or fix its owner and mode.`,
  );
}
