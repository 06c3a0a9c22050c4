import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "./temp-dir.js";

const run = promisify(execFile);

/** A small file system mounted for a test, and how it was made. */
export interface SmallDisk {
  /** The mount point. */
  path: string;
  kind: "tmpfs" | "loop";
  /** Unmounts and removes everything. */
  remove(): Promise<void>;
}

/**
 * Mounts a file system of `megabytes` MiB: a tmpfs, or else an ext4 image on a loop device.
 * Both need root (or CAP_SYS_ADMIN); when neither works, resolves with the reasons.
 */
export async function mountSmallDisk(megabytes: number): Promise<SmallDisk | { failed: string[] }> {
  const dir = await tempDir("profgate-disk-");
  const path = join(dir.path, "mnt");
  await mkdir(path);
  const failed: string[] = [];
  const unmount = async () => {
    await run("umount", [path]).catch(() => run("umount", ["-l", path]).catch(() => {}));
  };
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m,mode=0700`, "tmpfs", path]);
    return {
      path,
      kind: "tmpfs",
      async remove() {
        await unmount();
        await dir.remove();
      },
    };
  } catch (error) {
    failed.push(`tmpfs: ${(error as Error).message.trim()}`);
  }
  const image = join(dir.path, "disk.img");
  try {
    await run("truncate", ["-s", `${megabytes}M`, image]);
    await run("mkfs.ext4", ["-q", "-F", image]);
    await run("mount", ["-o", "loop", image, path]);
    return {
      path,
      kind: "loop",
      async remove() {
        await unmount();
        await rm(image, { force: true });
        await dir.remove();
      },
    };
  } catch (error) {
    failed.push(`loop device: ${(error as Error).message.trim()}`);
  }
  await dir.remove();
  return { failed };
}
