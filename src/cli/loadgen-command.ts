import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { invalidArgument } from "../errors.js";
import { formatSnapshot } from "../loadgen/call-stats.js";
import { runFleet } from "../loadgen/fleet.js";
import { holdIdleFleet } from "../loadgen/idle-fleet.js";
import { parseMix } from "../loadgen/mix.js";
import type { SimulatedAgentOptions } from "../loadgen/simulated-agent.js";
import { zstdCompression } from "../loadgen/zstd-compression.js";
import { fail } from "./command.js";
import { channelFor, durationFlag, readToken, TARGET_FLAGS } from "./target-options.js";

const USAGE = `Usage: profgate loadgen --target HOST:PORT (--token-file FILE | --tokens-from-dir DIR) --project ID[,ID...] [flags]

Simulates a fleet of parca-agents, each with its own connection, node label and agent id.
  --agents N            agents to simulate (default 10)
  --interval DURATION   each agent calls once per interval, +-20% jitter (default 5s, like parca-agent);
                        0: back to back, each agent calls again as soon as its call ended (N concurrent callers)
  --rate N              open loop instead: N calls per second across the fleet
  --otlp-http URL       send the OTLP kinds over OTLP/HTTP to URL (http://host:4318) instead of gRPC
  --compression none|deflate|gzip|zstd   gRPC message compression (default none): deflate and gzip
                        compress every call (grpc-js); zstd, as --remote-store-compression=zstd
                        does, WriteArrow and the OTLP Exports (sent through the lean HTTP/2
                        client, since grpc-js cannot), the other methods uncompressed
  --mix K=W,...         call mix (default writearrow=80,write=15,writeraw=5; also debuginfo, reportpanic,
                        and the OTLP signals otlpprofiles, otlplogs, otlptraces, otlpmetrics)
  --payload-bytes N     approximate payload size (default 65536)
  --duration DURATION   how long to measure (default 30s)
  --warmup DURATION     run this long first without measuring (default 0s)
  --junk-ratio R        this fraction of calls are WriteArrow calls with an unknown, well-formed token,
                        reported apart as "junk" (default 0)
  --junk-distinct N     junk tokens to draw from at random (default 0: a fresh token every junk call)
  --client grpc-js|h2   grpc-js (default): every call through grpc-js, as a gRPC library sends it; h2:
                        WriteArrow calls through a lean HTTP/2 client (the same bytes on the wire,
                        a fraction of the CPU), so that one process drives thousands of agents; other
                        methods still through grpc-js, on a second connection
  --connect-only        open every agent's connection, print one line when they are up, stay quiet
                        for --duration (or until SIGTERM), then close them
  --tls, --tls-ca-file FILE, --tls-server-name NAME    TLS instead of plaintext
  --timeout DURATION    per-call deadline (default 30s)
  --report-interval D   how often to print progress (default 5s)
  -o table|json         json: one machine-readable summary on stdout
`;

function readTokens(values: { "tokens-from-dir"?: string; "token-file"?: string }): string[] {
  const dir = values["tokens-from-dir"];
  const tokens = dir
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".token"))
        .sort()
        .map((f) => readToken(join(dir, f)))
    : values["token-file"]
      ? [readToken(values["token-file"])]
      : [];
  if (tokens.length === 0)
    throw invalidArgument("Pass --token-file FILE or --tokens-from-dir DIR (of *.token files).");
  return tokens;
}

function wholeNumber(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw invalidArgument(`--${flag} must be a whole number of at least ${min}.`);
  return n;
}

/** grpc-js's compression algorithm numbers. */
const COMPRESSION: Record<string, number | undefined> = { none: 0, deflate: 1, gzip: 2 };

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
      compression: { type: "string", default: "none" },
      "otlp-http": { type: "string" },
      "payload-bytes": { type: "string", default: "65536" },
      duration: { type: "string", default: "30s" },
      warmup: { type: "string", default: "0s" },
      "junk-ratio": { type: "string", default: "0" },
      "junk-distinct": { type: "string", default: "0" },
      "connect-only": { type: "boolean", default: false },
      client: { type: "string", default: "grpc-js" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const tokens = readTokens(values);
  const projects = (values.project ?? "").split(",").filter((p) => p !== "");
  if (projects.length === 0) throw invalidArgument("Pass --project ID (or several, comma-separated).");
  const count = wholeNumber("agents", values.agents, 1);
  const payloadBytes = wholeNumber("payload-bytes", values["payload-bytes"], 1);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw invalidArgument("--rate must be above 0.");
  const junkRatio = Number(values["junk-ratio"]);
  if (!(junkRatio >= 0 && junkRatio <= 1)) throw invalidArgument("--junk-ratio must be between 0 and 1.");
  const junkDistinct = wholeNumber("junk-distinct", values["junk-distinct"], 0);
  const json = values.output === "json";
  const { target, channel, channelOptions: baseOptions, h2 } = channelFor(values);
  const zstd = values.compression === "zstd";
  const algorithm = zstd ? 0 : COMPRESSION[values.compression ?? "none"];
  if (algorithm === undefined)
    throw invalidArgument(
      `--compression must be none, deflate, gzip or zstd, not ${JSON.stringify(values.compression)}.`,
    );
  // grpc-js compresses every message it sends with the channel's default algorithm.
  const channelOptions = algorithm
    ? { ...baseOptions, "grpc.default_compression_algorithm": algorithm }
    : baseOptions;
  if (values.client !== "grpc-js" && values.client !== "h2")
    throw invalidArgument(`--client must be grpc-js or h2, not ${JSON.stringify(values.client)}.`);
  // grpc-js cannot send zstd: the calls it compresses go through the lean HTTP/2 client.
  const compression = zstd ? await zstdCompression() : undefined;
  const timeoutMs = durationFlag("timeout", values.timeout);
  const durationMs = durationFlag("duration", values.duration);
  const agents: SimulatedAgentOptions[] = Array.from({ length: count }, (_, i) => ({
    target,
    channel,
    channelOptions,
    token: tokens[i % tokens.length]!,
    projectId: projects[i % projects.length]!,
    node: `loadgen-node-${i}`,
    payloadBytes,
    timeoutMs,
    h2: compression ? { ...h2, compression } : values.client === "h2" ? h2 : undefined,
    otlpHttpUrl: values["otlp-http"],
  }));
  const out = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

  if (values["connect-only"]) {
    const stop = new AbortController();
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop.abort());
    const result = await holdIdleFleet({
      agents,
      holdMs: durationMs,
      signal: stop.signal,
      onConnected: (r) =>
        out(
          `connected ${r.connected} of ${r.agents} agents (${r.failed} failed) in ${r.connectSeconds.toFixed(1)} s`,
        ),
    });
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  const result = await runFleet({
    agents,
    mix: parseMix(values.mix),
    durationMs,
    warmupMs: durationFlag("warmup", values.warmup),
    intervalMs: durationFlag("interval", values.interval),
    ...(rate !== undefined ? { rate } : {}),
    junkRatio,
    junkDistinct,
    reportEveryMs: durationFlag("report-interval", values["report-interval"]),
    onReport: (s) => out(formatSnapshot("interval:", s)),
    onMeasuring: (phase) => out(`measuring ${phase}`),
  });
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(
      `${formatSnapshot(`total (${result.agents} agents, ${result.seconds.toFixed(1)} s):`, result)}\n`,
    );
    if (result.junk) {
      process.stdout.write(
        `${formatSnapshot(`junk (${result.junk.distinctTokens} distinct tokens):`, result.junk)}\n`,
      );
    }
  }
  // Asked for calls and made none: say why, and fail, rather than report an empty success.
  if (result.calls === 0) {
    fail(
      `no call was made in --duration ${values.duration} with --interval ${values.interval} per agent; ` +
        "raise --duration above --interval, or lower --interval.",
    );
  } else if ((result.codes["OK"] ?? 0) === 0) {
    fail(
      `none of the ${result.calls} calls succeeded (${Object.keys(result.codes).join(", ")}); see the codes above.`,
    );
  }
}
