import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** One instruction of a Dockerfile: `COPY --from=build /src/dist ./dist` -> COPY, its arguments. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** A build stage: its base image (ARG defaults substituted), name and instructions. */
export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
  /** The last stage: what the image is. */
  runtime: Stage;
  /** Every ENV of the runtime stage. */
  runtimeEnv: Record<string, string>;
}

/** Splits the Dockerfile into instructions: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  if (pending !== "") logical.push(pending.trim());
  return logical.map((line) => {
    const space = line.search(/\s/);
    return space < 0
      ? { keyword: line.toUpperCase(), args: "" }
      : { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space).trim() };
  });
}

/** `A=1 B=2` (the only ENV form the Dockerfile uses) -> { A: "1", B: "2" }. */
export function envPairs(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const pair of args.split(/\s+/)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`ENV ${args}: write it as NAME=value`);
    pairs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return pairs;
}

/** The exec form of ENTRYPOINT/CMD/VOLUME (a JSON array); the shell form as one word list. */
export function execForm(args: string): string[] {
  return args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
}

/** Reads and splits the repository's Dockerfile. */
export function readDockerfile(): Dockerfile {
  const all = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const argDefaults: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of all) {
    if (instruction.keyword === "ARG" && stages.length === 0) {
      const [name, value] = instruction.args.split("=", 2);
      if (name && value !== undefined) argDefaults[name] = value;
    } else if (instruction.keyword === "FROM") {
      const [image = "", as, name] = instruction.args.replace(/^--platform=\S+\s+/, "").split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => argDefaults[a ?? b] ?? "");
      stages.push({ from, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  const runtime = stages.at(-1);
  if (!runtime) throw new Error("the Dockerfile has no FROM");
  const runtimeEnv = Object.assign(
    {},
    ...runtime.instructions.filter((i) => i.keyword === "ENV").map((i) => envPairs(i.args)),
  ) as Record<string, string>;
  return { stages, runtime, runtimeEnv };
}

/** The instructions of `stage` with `keyword`. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/**
 * Whether `.dockerignore` sends `path` (relative to the repository) to the builder: its patterns in
 * order, the last one that matches the path or one of its parent directories deciding.
 */
export function sentToBuilder(path: string): boolean {
  const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const segments = path.replace(/\/+$/, "").split("/");
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join("/"));
  let sent = true;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, "");
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")}$`,
    );
    if (prefixes.some((p) => regex.test(p))) sent = negated;
  }
  return sent;
}
