import { open, readFile, rm } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

/** An exclusive claim on a data dir, released on close. */
export interface DirectoryLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims `<dir>/profgate.lock` for this process. Two processes writing one embedded store
 * would overwrite each other's changes; a lock left by a process that died is taken over.
 */
export async function acquireDirectoryLock(dir: string): Promise<DirectoryLock> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "profgate.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new Error(
          `The data dir ${dir} is in use by another profgate process (pid ${owner}); stop it or choose another --data-dir.`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`Could not lock the data dir ${dir}.`);
}
