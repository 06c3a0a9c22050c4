import { parseArgs } from "node:util";
import { envName, type FlagSpec } from "./flag-spec.js";

/** A configuration problem, reported as one line naming the flag and variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Values<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K] extends FlagSpec<infer T> ? T : never;
};

/**
 * Resolves every flag of `specs` from, in order of precedence: the command line, the
 * environment (`PROFGATE_<FLAG>`), the config file (`file`, keyed by flag name, with `fileName`
 * for messages), the default. Each value is parsed once; the first invalid one throws a
 * ConfigError naming where it came from. The result is frozen.
 */
export function loadFlags<S extends Record<string, FlagSpec>>(
  specs: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  file: { values: Readonly<Record<string, string>>; fileName: string } = { values: {}, fileName: "" },
): Readonly<Values<S>> {
  const byName = new Map(Object.entries(specs).map(([key, spec]) => [spec.name, { key, spec }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: switchValues(specs, argv),
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        [...byName.keys()].map((name) => [
          name,
          { type: byName.get(name)?.spec.boolean && !byName.get(name)?.spec.values ? "boolean" : "string" },
        ]),
      ) as Parameters<typeof parseArgs>[0] extends infer O
        ? O extends { options?: infer P }
          ? P
          : never
        : never,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; see --help for the flags.`);
  }
  const result: Record<string, unknown> = {};
  for (const [name, { key, spec }] of byName) {
    const fromArgs = parsed.values[name];
    const fromFile = file.values[name];
    const raw = fromArgs !== undefined ? String(fromArgs) : (env[envName(name)] ?? fromFile ?? spec.default);
    if (raw === undefined) {
      result[key] = undefined;
      continue;
    }
    try {
      result[key] = spec.parse(raw);
    } catch (error) {
      const source =
        fromArgs !== undefined
          ? `--${name}`
          : env[envName(name)] !== undefined
            ? envName(name)
            : fromFile !== undefined
              ? `${name} in ${file.fileName}`
              : `--${name} default`;
      throw new ConfigError(`Invalid ${source}=${JSON.stringify(raw)}: ${(error as Error).message}.`);
    }
  }
  return Object.freeze(result) as Readonly<Values<S>>;
}

/**
 * The command line with each switch that may take a word (`FlagSpec.values`) written as
 * `--name=word`: `--spool jetstream` -> `--spool=jetstream`, `--spool` alone -> `--spool=true`.
 */
function switchValues(specs: Record<string, FlagSpec>, argv: readonly string[]): string[] {
  const words = new Map(
    Object.values(specs)
      .filter((spec) => spec.boolean && spec.values)
      .map((spec) => [`--${spec.name}`, spec.values ?? []]),
  );
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const values = words.get(arg);
    if (values === undefined) {
      args.push(arg);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && values.includes(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(`${arg}=true`);
  }
  return args;
}

/** The value of one flag straight from the command line or the environment, before full parsing. */
export function peekFlag(name: string, argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) return argv[i + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return env[envName(name)];
}

/** The `--help` text: every flag with its variable, default and description. */
export function flagHelp(specs: Record<string, FlagSpec>): string {
  return Object.values(specs)
    .map((s) => {
      const value = s.values ? ` [${s.values.join("|")}]` : s.boolean ? "" : " <value>";
      const def = s.default !== undefined && s.default !== "" ? ` (default ${s.default})` : "";
      return `  --${s.name}${value}\n      ${s.description}${def}\n      env: ${envName(s.name)}`;
    })
    .join("\n");
}
