import { hostname } from "node:os";
import { mkdir, open, readFile, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";

/** An exclusive claim on a data dir, released on close. */
export interface DirectoryLock {
  release(): Promise<void>;
}

/** A held lock's file is touched this often; one untouched for `STALE_MS` is abandoned. */
const HEARTBEAT_MS = 5_000;
const STALE_MS = 20_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the lock recorded in `path` still belongs to a running process. */
async function held(path: string, me: string): Promise<string | undefined> {
  const [owner, info] = await Promise.all([
    readFile(path, "utf8").catch(() => ""),
    stat(path).catch(() => undefined),
  ]);
  const [host, pidText] = owner.trim().split(" ");
  const pid = Number.parseInt(pidText ?? "", 10);
  if (!info || !host || !Number.isInteger(pid) || `${host} ${pid}` === me) return undefined;
  // Same machine: ask the kernel. Another machine or container (pids repeat across them, and
  // every container's first process is pid 1): trust the heartbeat.
  const running = host === hostname() ? alive(pid) : Date.now() - info.mtimeMs < STALE_MS;
  return running ? `${host} pid ${pid}` : undefined;
}

/**
 * Claims `<dir>/profgate.lock` for this process. Two processes writing one embedded store would
 * overwrite each other's changes. The file names the holder (host and pid) and is touched every
 * few seconds; a lock whose holder died, or that nobody touched for 20 s, is taken over.
 */
export async function acquireDirectoryLock(dir: string): Promise<DirectoryLock> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "profgate.lock");
  const me = `${hostname()} ${process.pid}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(`${me}\n`);
      await handle.close();
      const heartbeat = setInterval(() => {
        const now = new Date();
        utimes(path, now, now).catch(() => {});
      }, HEARTBEAT_MS);
      heartbeat.unref();
      return {
        release: async () => {
          clearInterval(heartbeat);
          await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = await held(path, me);
      if (holder) {
        throw new Error(
          `The data dir ${dir} is in use by another profgate process (${holder}); stop it or choose another --data-dir.`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`Could not lock the data dir ${dir}.`);
}
