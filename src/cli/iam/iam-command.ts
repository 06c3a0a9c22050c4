import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { status } from "@grpc/grpc-js";
import { parseHostPort } from "../../config/flag-spec.js";
import { isWellFormedToken, TOKEN_FORMAT_HINT } from "../../token/token.js";
import { exitCodeFor, fail } from "../command.js";
import { IAM_COMMANDS, type IamContext } from "./iam-commands.js";

const USAGE = `Usage: profgate iam <resource> <verb> [args] [--server HOST:PORT] [--token-file FILE] [-o table|json]

  organizations create NAME | list
  projects create NAME | list | delete PROJECT_ID
  projects set-limits PROJECT_ID [--bytes-per-second SIZE [--burst SIZE]] [--debuginfo-quota SIZE]
                                  (a limit left out or 0 returns to the gateway's default)
  service-accounts create NAME | list | delete SERVICE_ACCOUNT_ID
  service-accounts set-allowed-cidrs SERVICE_ACCOUNT_ID --cidrs CIDR[,CIDR...]   (empty lifts it)
  role-bindings create --service-account ID --role ROLE [--project PROJECT_ID]
  role-bindings list [--service-account ID] | delete ROLE_BINDING_ID
  tokens create --service-account ID --name NAME [--expires-in DURATION] [--out FILE]
  tokens list --service-account ID | delete TOKEN_ID
  audit list [--limit N]

Global flags:
  --server      the admin API (default 127.0.0.1:7073, env PROFGATE_SERVER)
  --token-file  a file holding an owner's or viewer's token (default ./data/owner.token, env PROFGATE_TOKEN_FILE)
  -o, --output  table (default) or json
`;

/** Turns an admin API error into one sentence saying what failed and what to do. */
function explain(error: unknown, server: string): string {
  const e = error as { code?: number; details?: string };
  if (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED) {
    return `Cannot reach the admin API at ${server}; is profgate serve running there? (set --server or PROFGATE_SERVER)`;
  }
  if (e.code === status.UNAUTHENTICATED) return `${e.details} (set --token-file or PROFGATE_TOKEN_FILE)`;
  if (typeof e.details === "string" && e.details !== "") return e.details;
  return error instanceof Error ? error.message : String(error);
}

/** `profgate iam ...`: a command-line client of the admin API. */
export async function runIam(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      server: { type: "string", default: process.env["PROFGATE_SERVER"] ?? "127.0.0.1:7073" },
      "token-file": { type: "string", default: process.env["PROFGATE_TOKEN_FILE"] ?? "./data/owner.token" },
      output: { type: "string", short: "o", default: "table" },
      "service-account": { type: "string" },
      role: { type: "string" },
      project: { type: "string" },
      name: { type: "string" },
      "expires-in": { type: "string" },
      out: { type: "string" },
      limit: { type: "string" },
      "bytes-per-second": { type: "string" },
      burst: { type: "string" },
      "debuginfo-quota": { type: "string" },
      cidrs: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [resource, verb, ...rest] = positionals;
  if (values.help || !resource) {
    process.stdout.write(USAGE);
    return;
  }
  const command = IAM_COMMANDS[`${resource} ${verb ?? ""}`.trim()];
  if (!command)
    return fail(
      `Unknown command "iam ${[resource, verb].filter(Boolean).join(" ")}"; run profgate iam --help.`,
      2,
    );
  if (values.output !== "table" && values.output !== "json") return fail("-o must be table or json.", 2);
  try {
    parseHostPort(values.server);
  } catch {
    return fail(`--server must be host:port, not ${JSON.stringify(values.server)}.`, 2);
  }
  let token: string;
  try {
    token = (await readFile(values["token-file"], "utf8")).trim();
  } catch (error) {
    return fail(
      `Cannot read the token file ${values["token-file"]} (${(error as NodeJS.ErrnoException).code ?? "error"}); pass --token-file or set PROFGATE_TOKEN_FILE.`,
    );
  }
  if (!isWellFormedToken(token)) {
    return fail(`The token file ${values["token-file"]} does not hold a token (${TOKEN_FORMAT_HINT}).`);
  }
  const context: IamContext = {
    server: values.server,
    token,
    json: values.output === "json",
    args: rest,
    flags: values,
    print: (text) => process.stdout.write(text),
  };
  try {
    await command(context);
  } catch (error) {
    fail(explain(error, values.server), exitCodeFor(error));
  }
}
