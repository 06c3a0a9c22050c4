import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatProfileSummary, type ProfileEntry, summarizeProfile } from "../profile-summary.js";
import type { BenchContext } from "./context.js";

/**
 * The summary of the CPU profile that a server started with `profile: true` wrote when it
 * stopped (`<profileDir>/<name>.cpuprofile`), also written next to it as text; undefined when
 * not profiling. `skipMs`: the start-up to leave out.
 */
export async function profileOf(
  ctx: BenchContext,
  name: string,
  skipMs = 0,
): Promise<{ busyMs: number; components: ProfileEntry[]; functions: ProfileEntry[] } | undefined> {
  if (!ctx.profileDir) return undefined;
  const file = join(ctx.profileDir, `${name}.cpuprofile`);
  if (!existsSync(file)) return undefined;
  const summary = await summarizeProfile(file, 15, skipMs);
  await writeFile(join(ctx.profileDir, `${name}.txt`), `${formatProfileSummary(summary)}\n`);
  ctx.log(`profile of ${name}:\n${formatProfileSummary(summary)}`);
  return { busyMs: summary.busyMs, components: summary.components, functions: summary.functions };
}
