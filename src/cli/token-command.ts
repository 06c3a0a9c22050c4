import { access } from "node:fs/promises";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../fs/atomic-file.js";
import { generateToken } from "../token/token.js";
import { fail } from "./command.js";

const TOKEN_USAGE =
  "Usage: profgate token generate [--out FILE]\n" +
  "  A fresh psc_v1 token from 32 random bytes, on stdout or in FILE (mode 0600, never overwritten),\n" +
  "  for serve's --bootstrap-owner-token-file and --bootstrap-agent-token-file (e.g. a Kubernetes Secret).";

/** `profgate token generate`: a token an operator provides to the first start of a gateway. */
export async function runToken(args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    process.stdout.write(`${TOKEN_USAGE}\n`);
    return;
  }
  if (verb !== "generate") return fail(`Unknown command "token ${verb}".\n${TOKEN_USAGE}`, 2);
  const { values } = parseArgs({
    args: rest,
    options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(`${TOKEN_USAGE}\n`);
    return;
  }
  const { secret } = generateToken();
  if (values.out === undefined) {
    process.stdout.write(`${secret}\n`);
    return;
  }
  const exists = await access(values.out).then(
    () => true,
    () => false,
  );
  if (exists) return fail(`${values.out} exists; pass another --out or remove it first.`, 1);
  await writeFileAtomic(values.out, `${secret}\n`);
  process.stderr.write(`wrote a new token to ${values.out} (mode 0600)\n`);
}
