#!/usr/bin/env node
import { packageVersion } from "../version.js";
import { type Command, exitCodeFor, fail } from "./command.js";

// Each command's modules load only when it runs: `profgate iam ...` or `--version` does not pay
// for the gateway's.
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serve-command.js")).runServe,
  iam: async () => (await import("./iam/iam-command.js")).runIam,
  loadgen: async () => (await import("./loadgen-command.js")).runLoadgen,
  replay: async () => (await import("./replay-command.js")).runReplay,
  spool: async () => (await import("./spool-command.js")).runSpool,
  token: async () => (await import("./token-command.js")).runToken,
};

const USAGE = `profgate: the authenticating profile-ingestion gateway for parca-agent

Usage:
  profgate --version              the version, and Node's
  profgate serve [flags]          run the gateway (profgate serve --help lists every flag)
  profgate iam <resource> <verb>  manage organizations, projects, service accounts, role bindings,
                                  tokens and the audit trail (profgate iam --help)
  profgate loadgen [flags]        simulate a fleet of agents against a gateway (profgate loadgen --help)
  profgate replay [flags]         replay a gateway's recorded traffic (profgate replay --help)
  profgate token generate [--out FILE]
                                  a fresh token, for serve's --bootstrap-owner-token-file
                                  and --bootstrap-agent-token-file
  profgate spool ls [--project ID] [--data-dir DIR]
                                  what arrived in the local sink, per project
  profgate spool backlog [--data-dir DIR]
                                  what waits in the upstream spool, and its dead letters
`;

// Exit codes, for every command: 0 done, 1 the run failed, 2 the command line is wrong.
const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === "help" || name === "--help" || name === "-h") {
  process.stdout.write(USAGE);
} else if (name === "--version" || name === "-v" || name === "version") {
  process.stdout.write(`profgate ${packageVersion()} (node ${process.version})\n`);
} else {
  const command = COMMANDS[name];
  if (!command) {
    fail(`Unknown command ${JSON.stringify(name)}; run profgate --help for the commands.`, 2);
  } else {
    command()
      .then((run) => run(rest))
      .catch((error: unknown) =>
        fail(error instanceof Error ? error.message : String(error), exitCodeFor(error)),
      );
  }
}
