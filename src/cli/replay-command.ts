import { parseArgs } from "node:util";
import { invalidArgument } from "../errors.js";
import { formatSnapshot } from "../loadgen/call-stats.js";
import { openStreamLocation, parseStreamLocation } from "../jetstream/stream-location.js";
import { streamSource } from "../jetstream/stream-source.js";
import { replay, sinkSource } from "../loadgen/replay.js";
import { fail } from "./command.js";
import { channelFor, durationFlag, readToken, TARGET_FLAGS } from "./target-options.js";

const USAGE = `Usage: profgate replay --from DATA_DIR|nats://HOST:PORT[/STREAM] --target HOST:PORT --token-file FILE [flags]

Replays what a gateway recorded in its local sink (--from DATA_DIR) or published to a JetStream
stream (--from nats://..., stream default profgate): per-project order kept, payloads byte for byte.
  --speed 1|N|max       original timing, N times faster, or as fast as possible (default 1)
  --project-map OLD=NEW,...   send a recorded project's records to another project id
  --tls, --tls-ca-file FILE, --tls-server-name NAME, --timeout D, --report-interval D, -o table|json
`;

/** `profgate replay`: recorded agent traffic, again, against another (or the same) gateway. */
export async function runReplay(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      from: { type: "string" },
      speed: { type: "string", default: "1" },
      "project-map": { type: "string", default: "" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.from)
    throw invalidArgument("Pass --from DATA_DIR, the data dir of the gateway that recorded the traffic.");
  if (!values["token-file"]) throw invalidArgument("Pass --token-file FILE: the token to replay with.");
  const speed = values.speed === "max" ? "max" : Number(values.speed);
  if (speed !== "max" && !(speed > 0)) throw invalidArgument("--speed must be a number above 0, or max.");
  const projectMap = new Map<string, string>();
  for (const pair of values["project-map"].split(",").filter((p) => p !== "")) {
    const [from, to] = pair.split("=");
    if (!from || !to)
      throw invalidArgument(`--project-map takes OLD=NEW pairs, not ${JSON.stringify(pair)}.`);
    projectMap.set(from.toLowerCase(), to);
  }
  const json = values.output === "json";
  // Everything the command line says is checked before a connection to a stream is opened.
  const target = channelFor(values);
  const timeoutMs = durationFlag("timeout", values.timeout);
  const reportEveryMs = durationFlag("report-interval", values["report-interval"]);
  const token = readToken(values["token-file"]);
  const fromStream = /^(nats|tls):\/\//.test(values.from);
  const location = fromStream ? parseStreamLocation(values.from) : undefined;
  const handle = location ? await openStreamLocation(location) : undefined;
  const result = await replay({
    from: handle ? streamSource(handle) : sinkSource(values.from),
    ...target,
    token,
    projectMap,
    speed,
    timeoutMs,
    reportEveryMs,
    onReport: (s) => (json ? process.stderr : process.stdout).write(`${formatSnapshot("interval:", s)}\n`),
  }).finally(() => handle?.close());
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${formatSnapshot(`total (${result.projects} projects):`, result)}\n`);
  const refusedAll = result.calls > 0 && (result.codes["OK"] ?? 0) === 0;
  if (refusedAll) {
    const denied = (result.codes["PERMISSION_DENIED"] ?? 0) + (result.codes["UNAUTHENTICATED"] ?? 0);
    fail(
      denied > 0 && projectMap.size === 0
        ? "the target refused every call: the recorded projects do not exist there, or the token may not write to them; map them with --project-map OLD=NEW (the recorded ids are in the summary above)."
        : `the target refused every call (${Object.keys(result.codes).join(", ")}).`,
    );
  }
}
