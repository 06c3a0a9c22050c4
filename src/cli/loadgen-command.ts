import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../config/flag-spec.js";
import { invalidArgument } from "../errors.js";
import { formatSnapshot } from "../loadgen/call-stats.js";
import { runFleet } from "../loadgen/fleet.js";
import { parseMix } from "../loadgen/mix.js";
import { channelFor, readToken, TARGET_FLAGS } from "./target-options.js";

const USAGE = `Usage: profgate loadgen --target HOST:PORT (--token-file FILE | --tokens-from-dir DIR) --project ID[,ID...] [flags]

Simulates a fleet of parca-agents, each with its own connection, node label and agent id.
  --agents N            agents to simulate (default 10)
  --interval DURATION   each agent calls once per interval, +-20% jitter (default 5s, like parca-agent)
  --rate N              open loop instead: N calls per second across the fleet
  --mix K=W,...         call mix (default writearrow=80,write=15,writeraw=5; also debuginfo, reportpanic)
  --payload-bytes N     approximate payload size (default 65536)
  --duration DURATION   how long to run (default 30s)
  --tls, --tls-ca-file FILE, --tls-server-name NAME    TLS instead of plaintext
  --timeout DURATION    per-call deadline (default 30s)
  --report-interval D   how often to print progress (default 5s)
  -o table|json         json: one machine-readable summary on stdout
`;

const parseDurationFlag = (flag: string, value: string) => {
  try {
    return parseDuration(value);
  } catch {
    throw invalidArgument(`--${flag} must be a duration such as 5s or 2m, not ${JSON.stringify(value)}.`);
  }
};

/** `profgate loadgen`: load a gateway the way a fleet of agents would, and report what it saw. */
export async function runLoadgen(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      "tokens-from-dir": { type: "string" },
      project: { type: "string" },
      agents: { type: "string", default: "10" },
      interval: { type: "string", default: "5s" },
      rate: { type: "string" },
      mix: { type: "string", default: "writearrow=80,write=15,writeraw=5" },
      "payload-bytes": { type: "string", default: "65536" },
      duration: { type: "string", default: "30s" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const tokens = values["tokens-from-dir"]
    ? readdirSync(values["tokens-from-dir"])
        .filter((f) => f.endsWith(".token"))
        .sort()
        .map((f) => readToken(join(values["tokens-from-dir"]!, f)))
    : values["token-file"]
      ? [readToken(values["token-file"])]
      : [];
  if (tokens.length === 0)
    throw invalidArgument("Pass --token-file FILE or --tokens-from-dir DIR (of *.token files).");
  const projects = (values.project ?? "").split(",").filter((p) => p !== "");
  if (projects.length === 0) throw invalidArgument("Pass --project ID (or several, comma-separated).");
  const count = Number(values.agents);
  const payloadBytes = Number(values["payload-bytes"]);
  if (!Number.isInteger(count) || count < 1)
    throw invalidArgument("--agents must be a whole number above 0.");
  if (!Number.isInteger(payloadBytes) || payloadBytes < 1)
    throw invalidArgument("--payload-bytes must be above 0.");
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw invalidArgument("--rate must be above 0.");
  const json = values.output === "json";
  const { target, channel, channelOptions } = channelFor(values);
  const timeoutMs = parseDurationFlag("timeout", values.timeout);
  const result = await runFleet({
    agents: Array.from({ length: count }, (_, i) => ({
      target,
      channel,
      channelOptions,
      token: tokens[i % tokens.length]!,
      projectId: projects[i % projects.length]!,
      node: `loadgen-node-${i}`,
      payloadBytes,
      timeoutMs,
    })),
    mix: parseMix(values.mix),
    durationMs: parseDurationFlag("duration", values.duration),
    intervalMs: parseDurationFlag("interval", values.interval),
    ...(rate !== undefined ? { rate } : {}),
    reportEveryMs: parseDurationFlag("report-interval", values["report-interval"]),
    onReport: (s) => (json ? process.stderr : process.stdout).write(`${formatSnapshot("interval:", s)}\n`),
  });
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    process.stdout.write(
      `${formatSnapshot(`total (${result.agents} agents, ${result.seconds.toFixed(1)} s):`, result)}\n`,
    );
}
