import { readFileSync } from "node:fs";
import type { LevelWithSilent } from "pino";
import {
  type FlagSpec,
  parseBoolean,
  parseBytes,
  parseWindowBytes,
  parseDuration,
  parseHostPort,
  parseOneOf,
} from "./flag-spec.js";
import { ConfigError } from "./load-flags.js";
import { checkTlsFiles } from "./tls-files.js";
import { isWellFormedToken, TOKEN_FORMAT_HINT } from "../token/token.js";
import { parseDialAddress, parseGrpcHeaders, parseReadableFile } from "./upstream-flag-parsers.js";

function parseRedisUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("expected redis://[:password@]host:port[/db] or rediss://...");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new Error("the scheme must be redis:// or rediss://");
  if (!url.hostname) throw new Error("a host is required");
  return raw;
}

function parseNodeList(raw: string): string[] {
  const nodes = raw
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (nodes.length === 0) throw new Error("expected host:port,host:port,...");
  for (const node of nodes) parseHostPort(node);
  return nodes;
}

function parseNonNegativeInt(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error("expected a whole number, 0 or more");
  return value;
}

function parsePositiveInt(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error("expected a whole number above 0");
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseUuid(raw: string): string {
  const id = raw.trim().toLowerCase();
  if (!UUID.test(id)) throw new Error("must be a UUID, e.g. from `node -p 'crypto.randomUUID()'`");
  return id;
}

/** A readable file holding one psc_v1 token; the error never shows what the file holds. */
function parseTokenFile(raw: string): string {
  const path = parseReadableFile(raw);
  if (!isWellFormedToken(readFileSync(path, "utf8").trim()))
    throw new Error(`must hold one token, ${TOKEN_FORMAT_HINT}: make one with \`profgate token generate\``);
  return path;
}

/** `--access-log`: the share of successful calls to log (failures are always logged). */
function parseAccessLog(raw: string): number {
  const value = raw.trim();
  if (value === "failures") return 0;
  if (value === "all") return 1;
  const share = Number(value);
  if (value === "" || !Number.isFinite(share) || share < 0 || share > 1)
    throw new Error("must be failures, all, or a fraction of successful calls between 0 and 1, e.g. 0.01");
  return share;
}

/** `--spool`: off, the disk spool (`--spool` alone), or JetStream. */
function parseSpool(raw: string): false | "disk" | "jetstream" {
  const value = raw.trim().toLowerCase();
  if (value === "disk" || value === "jetstream") return value;
  return parseBoolean(raw) ? "disk" : false;
}

function parseNatsServers(raw: string): string[] {
  const servers = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (servers.length === 0) throw new Error("expected nats://host:port,nats://host:port");
  for (const server of servers) {
    let url: URL;
    try {
      url = new URL(server.includes("://") ? server : `nats://${server}`);
    } catch {
      throw new Error("expected nats://host:port,nats://host:port");
    }
    if (!["nats:", "tls:"].includes(url.protocol) || !url.hostname) {
      throw new Error("expected nats://host:port or tls://host:port");
    }
  }
  return servers;
}

const text = (raw: string) => {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw;
};

/** Every flag of `profgate serve`. Add a setting here and it gets a variable and help text. */
export const SERVE_FLAGS = {
  config: {
    name: "config",
    description:
      "A YAML file of settings keyed by flag name (grpc-address: 0.0.0.0:7070). Precedence: flag, then environment, then file, then default.",
    parse: text,
  },
  grpcAddress: {
    name: "grpc-address",
    description: "Where agents connect: the gRPC ingestion listener (Parca's port is 7070).",
    default: "0.0.0.0:7070",
    parse: parseHostPort,
  },
  adminAddress: {
    name: "admin-address",
    description:
      "The admin API listener (IAM management, gRPC reflection). Loopback by default so it is not exposed by accident.",
    default: "127.0.0.1:7073",
    parse: parseHostPort,
  },
  httpAddress: {
    name: "http-address",
    description:
      "The HTTP listener for /metrics (Prometheus), /healthz (alive) and /readyz (ready to serve).",
    default: "0.0.0.0:7072",
    parse: parseHostPort,
  },
  advertiseAddress: {
    name: "advertise-address",
    description:
      "The host:port agents should dial (a Service's DNS name, a load balancer), for the printed push line and the console's agent set-up. Default: this listener's address, with the machine's host name for 0.0.0.0.",
    default: "",
    parse: (raw: string) => (raw.trim() === "" ? undefined : parseDialAddress(raw)),
  },
  otlpHttpAddress: {
    name: "otlp-http-address",
    description:
      "OTLP/HTTP (POST /v1development/profiles, /v1/logs, /v1/metrics, /v1/traces), with the agent listener's auth, limits and storage; HTTPS with --tls-cert-file/--tls-key-file. Empty: off.",
    default: "0.0.0.0:4318",
    parse: (raw: string) => (raw.trim() === "" ? undefined : parseHostPort(raw)),
  },
  consoleAddress: {
    name: "console-address",
    description:
      "The IAM web console (HTTP, or HTTPS with --tls-cert-file/--tls-key-file). Loopback by default like the admin API; empty: off.",
    default: "127.0.0.1:7074",
    parse: (raw: string) => (raw.trim() === "" ? undefined : parseHostPort(raw)),
  },
  dataDir: {
    name: "data-dir",
    description: "Directory for the embedded IAM store, bootstrap tokens, the local sink and debuginfo.",
    default: "./data",
    parse: text,
  },
  accessLog: {
    name: "access-log",
    description:
      "Which agent calls get a `call finished` log line: failures (every call that did not succeed; the default), all, or a fraction such as 0.01 (that share of successful calls, and every failure). Admin calls are always logged.",
    default: "failures",
    parse: parseAccessLog,
  },
  bootstrapOwnerTokenFile: {
    name: "bootstrap-owner-token-file",
    description:
      "A file holding the psc_v1 token (`profgate token generate`) that the first start gives the `owner` service account, instead of writing a new one to <data-dir>/owner.token; e.g. a mounted Secret. Ignored once the store is bootstrapped.",
    parse: parseTokenFile,
  },
  bootstrapAgentTokenFile: {
    name: "bootstrap-agent-token-file",
    description:
      "As --bootstrap-owner-token-file, for the `agent` service account (role writer on project `default`): the token the agents' Secret holds.",
    parse: parseTokenFile,
  },
  bootstrapProjectId: {
    name: "bootstrap-project-id",
    description:
      "The id (a UUID) the first start gives project `default`, so that agents can be configured before the gateway starts. Default: a random one.",
    default: "",
    parse: (raw: string) => (raw.trim() === "" ? undefined : parseUuid(raw)),
  },
  logLevel: {
    name: "log-level",
    description: "Log level: trace, debug, info, warn, error, fatal or silent.",
    default: "info",
    parse: parseOneOf<LevelWithSilent>(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  },
  metricsPerProject: {
    name: "metrics-per-project",
    description:
      "Also export per-project series (ingested bytes, rate limiting). Projects are unbounded: mind the cardinality.",
    boolean: true,
    default: "false",
    parse: parseBoolean,
  },
  shutdownGrace: {
    name: "shutdown-grace",
    description: "On SIGTERM or SIGINT, how long calls in flight may take to finish before they are cut off.",
    default: "25s",
    parse: parseDuration,
  },
  maxConnectionAge: {
    name: "max-connection-age",
    description:
      "Close agent connections after this age (with a grace period), so long-lived connections rebalance across replicas. 0: never.",
    default: "0s",
    parse: parseDuration,
  },
  tlsCertFile: {
    name: "tls-cert-file",
    description:
      "PEM certificate chain for TLS 1.3 on the gRPC listener (with --tls-key-file); reloaded when the file changes.",
    parse: parseReadableFile,
  },
  tlsKeyFile: {
    name: "tls-key-file",
    description: "PEM private key of --tls-cert-file.",
    parse: parseReadableFile,
  },
  tlsClientCaFile: {
    name: "tls-client-ca-file",
    description: "PEM CA bundle: require clients to present a certificate it signed (mTLS).",
    parse: parseReadableFile,
  },
  redisUrl: {
    name: "redis-url",
    description:
      "Use a Redis IAM store shared by replicas: redis://[:password@]host:port[/db], or rediss:// for TLS. Unset: the embedded store.",
    parse: parseRedisUrl,
  },
  redisClusterNodes: {
    name: "redis-cluster-nodes",
    description: "Use a Redis Cluster IAM store: comma-separated host:port seed nodes.",
    parse: parseNodeList,
  },
  redisKeyPrefix: {
    name: "redis-key-prefix",
    description: "Prefix of every Redis key profgate writes, so several installations can share one Redis.",
    default: "profgate:",
    parse: text,
  },
  authCacheTtl: {
    name: "auth-cache-ttl",
    description:
      "How long an authenticated token's principal is served from memory; bounds revocation if a message is lost.",
    default: "30s",
    parse: parseDuration,
  },
  authNegativeCacheTtl: {
    name: "auth-negative-cache-ttl",
    description:
      "How long an unknown token is remembered as unknown, so junk tokens cost one store lookup each.",
    default: "60s",
    parse: parseDuration,
  },
  authCacheSize: {
    name: "auth-cache-size",
    description: "The most tokens (known and unknown) the principal cache holds.",
    default: "100000",
    parse: parsePositiveInt,
  },
  authStaleWindow: {
    name: "auth-stale-window",
    description:
      "While the IAM store is unreachable, principals verified this recently keep working; unknown tokens get UNAVAILABLE.",
    default: "5m",
    parse: parseDuration,
  },
  rateLimitBytesPerSecond: {
    name: "rate-limit-bytes-per-second",
    description:
      "Default ingestion rate limit per project, in bytes per second (e.g. 8MiB); 0: none. Projects can override it (profgate iam projects set-limits). Shared across replicas on Redis.",
    default: "0",
    parse: parseBytes,
  },
  rateLimitBurstBytes: {
    name: "rate-limit-burst-bytes",
    description: "Default burst above the per-project rate, in bytes (e.g. 32MiB).",
    default: "0",
    parse: parseBytes,
  },
  authFailureBurst: {
    name: "auth-failure-burst",
    description:
      "Failed authentications one client address may cause per cool-down before it is refused without asking the store; 0: no limit.",
    default: "50",
    parse: parseNonNegativeInt,
  },
  authFailureCooldown: {
    name: "auth-failure-cooldown",
    description: "The window and the refusal period of --auth-failure-burst.",
    default: "60s",
    parse: parseDuration,
  },
  abandonedStreamBurst: {
    name: "abandoned-stream-burst",
    description:
      "Streams one client address may open and abandon (cancelled before their first message) per cool-down; beyond it, its gRPC connections are closed and new ones refused for the cool-down. 0: no limit.",
    default: "256",
    parse: parseNonNegativeInt,
  },
  abandonedStreamCooldown: {
    name: "abandoned-stream-cooldown",
    description: "The window and the refusal period of --abandoned-stream-burst.",
    default: "60s",
    parse: parseDuration,
  },
  peerIpv6Prefix: {
    name: "peer-ipv6-prefix",
    description:
      "How the per-address limits (--auth-failure-burst, --abandoned-stream-burst) count IPv6 clients: by this many leading bits. 64: a host or site's /64 as one client; 128: each address alone.",
    default: "64",
    parse: (raw: string) => {
      const bits = Number(raw);
      if (!Number.isInteger(bits) || bits < 32 || bits > 128)
        throw new Error("expected a prefix length from 32 to 128");
      return bits;
    },
  },
  memorySoftLimit: {
    name: "memory-soft-limit",
    description:
      "Above this much memory in use (V8 heap plus the Buffers outside it), new calls get UNAVAILABLE (agents retry) instead of the process dying. 0: 85% of the heap limit.",
    default: "0",
    parse: parseBytes,
  },
  debuginfoQuotaBytes: {
    name: "debuginfo-quota-bytes",
    description:
      "Debuginfo one project may store (uploads in progress included) unless it has a quota of its own (profgate iam projects set-limits --debuginfo-quota); beyond, InitiateUpload gets RESOURCE_EXHAUSTED. 0: no quota.",
    default: "20GiB",
    parse: parseBytes,
  },
  maxOpenUploads: {
    name: "max-open-uploads",
    description:
      "Debuginfo uploads the gateway holds open at once (each holds a file or an upstream stream); beyond, RESOURCE_EXHAUSTED. 0: no bound.",
    default: "256",
    parse: parseNonNegativeInt,
  },
  maxOpenUploadsPerAccount: {
    name: "max-open-uploads-per-account",
    description:
      "Debuginfo uploads one service account holds open at once; beyond, RESOURCE_EXHAUSTED. 0: no bound.",
    default: "64",
    parse: parseNonNegativeInt,
  },
  maxPendingBytes: {
    name: "max-pending-bytes",
    description:
      "Bytes of incomplete messages (announced, still arriving) the gateway holds in all; a call whose next bytes would pass it gets UNAVAILABLE. 0: no bound.",
    default: "128MiB",
    parse: parseBytes,
  },
  maxPendingBytesPerClient: {
    name: "max-pending-bytes-per-client",
    description:
      "Bytes of incomplete messages one client address (IPv6: its /64) may have the gateway hold; beyond, RESOURCE_EXHAUSTED. 0: no bound.",
    default: "32MiB",
    parse: parseBytes,
  },
  maxPendingBytesPerConnection: {
    name: "max-pending-bytes-per-connection",
    description:
      "Bytes of incomplete messages one connection may have the gateway hold; beyond, RESOURCE_EXHAUSTED. 0: no bound.",
    default: "32MiB",
    parse: parseBytes,
  },
  maxConcurrentStreams: {
    name: "max-concurrent-streams",
    description: "Most calls one connection may have open at once (an agent needs a handful).",
    default: "32",
    parse: parsePositiveInt,
  },
  http2StreamWindow: {
    name: "http2-stream-window",
    description:
      "How much one call may send before the gateway acknowledges it (HTTP/2 stream window). Over a link with round-trip time R, one call uploads at most this much per R.",
    default: "2MiB",
    parse: parseWindowBytes,
  },
  http2ConnectionWindow: {
    name: "http2-connection-window",
    description:
      "The same for all calls of one connection together (HTTP/2 connection window); also the most a connection can have in flight before its calls are read.",
    default: "8MiB",
    parse: parseWindowBytes,
  },
  maxConnectionIdle: {
    name: "max-connection-idle",
    description: "Close connections that carried no call for this long. 0: never.",
    default: "30m",
    parse: parseDuration,
  },
  uploadTimeout: {
    name: "upload-timeout",
    description:
      "Longest a debuginfo Upload stream may take (Parca considers an upload stale after 15 minutes).",
    default: "15m",
    parse: parseDuration,
  },
  lastUsedFlushInterval: {
    name: "last-used-flush-interval",
    description:
      "How often tokens' last-used dates are written to the IAM store, in one batch, off the request path.",
    default: "10s",
    parse: parseDuration,
  },
  upstreamAddress: {
    name: "upstream-address",
    description:
      "Forward every agent call to this Parca-compatible server (host:port) instead of storing locally.",
    parse: parseDialAddress,
  },
  upstreamInsecure: {
    name: "upstream-insecure",
    description: "Talk plaintext (h2c) to the upstream instead of TLS.",
    boolean: true,
    default: "false",
    parse: parseBoolean,
  },
  upstreamTlsCaFile: {
    name: "upstream-tls-ca-file",
    description: "PEM CA bundle the upstream's certificate must chain to (default: the system's roots).",
    parse: parseReadableFile,
  },
  upstreamTlsServerName: {
    name: "upstream-tls-server-name",
    description: "The name the upstream's certificate must carry, when it differs from the address's host.",
    parse: text,
  },
  upstreamBearerTokenFile: {
    name: "upstream-bearer-token-file",
    description:
      "A file holding the gateway's own token for the upstream, sent as 'authorization: Bearer'; the agents' tokens never are.",
    parse: parseReadableFile,
  },
  upstreamGrpcHeaders: {
    name: "upstream-grpc-headers",
    description:
      "Metadata sent on every upstream call: key=value;key=value (projectID=<uuid> pins every call to one upstream project).",
    parse: parseGrpcHeaders,
  },
  upstreamTimeout: {
    name: "upstream-timeout",
    description:
      "Bound on each forwarded unary call and Write exchange; on expiry the agent gets UNAVAILABLE (uploads: --upload-timeout).",
    default: "30s",
    parse: parseDuration,
  },
  spool: {
    name: "spool",
    description:
      "Store and forward: when the upstream fails, acknowledge WriteRaw, WriteArrow and the OTLP Exports once fsynced to <data-dir>/spool and deliver them later. '--spool jetstream': publish every one of them to JetStream, acknowledge, and deliver from there (any replica drains it).",
    boolean: true,
    values: ["disk", "jetstream"],
    default: "false",
    parse: parseSpool,
  },
  spoolMaxBytes: {
    name: "spool-max-bytes",
    description:
      "The most undelivered bytes the spool holds; beyond it writes get UNAVAILABLE, never dropped.",
    default: "1GiB",
    parse: parseBytes,
  },
  spoolMaxBackoff: {
    name: "spool-max-backoff",
    description:
      "The longest wait between two delivery attempts of a spooled record while the upstream fails.",
    default: "10s",
    parse: parseDuration,
  },
  sink: {
    name: "sink",
    description:
      "Where accepted calls are stored without --upstream-address: 'local' (<data-dir>/sink, fsynced) or 'jetstream' (published to a NATS JetStream stream).",
    default: "local",
    parse: parseOneOf(["local", "jetstream"] as const),
  },
  natsServers: {
    name: "nats-servers",
    description:
      "The NATS servers of --sink jetstream and --spool jetstream: nats://host:port,nats://host:port.",
    default: "nats://127.0.0.1:4222",
    parse: parseNatsServers,
  },
  natsCredsFile: {
    name: "nats-creds-file",
    description: "A NATS credentials file (user JWT and nkey seed) to connect with.",
    parse: parseReadableFile,
  },
  natsTokenFile: {
    name: "nats-token-file",
    description: "A file holding the NATS token to connect with.",
    parse: parseReadableFile,
  },
  natsTlsCaFile: {
    name: "nats-tls-ca-file",
    description: "PEM CA bundle the NATS servers' certificates must chain to; connects with TLS.",
    parse: parseReadableFile,
  },
  jetstreamStream: {
    name: "jetstream-stream",
    description:
      "The JetStream stream (and first subject token) accepted calls are published to; created if missing.",
    default: "profgate",
    parse: text,
  },
  jetstreamReplicas: {
    name: "jetstream-replicas",
    description: "Replicas of the stream when profgate creates it (3 survives the loss of a NATS node).",
    default: "1",
    parse: parsePositiveInt,
  },
  jetstreamMaxAge: {
    name: "jetstream-max-age",
    description: "How long the stream keeps a message when profgate creates it.",
    default: "7d",
    parse: parseDuration,
  },
  jetstreamMaxBytes: {
    name: "jetstream-max-bytes",
    description:
      "The most bytes the stream holds when profgate creates it; beyond it publishes are refused (agents get UNAVAILABLE), nothing is dropped.",
    default: "10GiB",
    parse: parseBytes,
  },
  jetstreamPublishTimeout: {
    name: "jetstream-publish-timeout",
    description: "Bound on JetStream's ack of each published message; past it the agent gets UNAVAILABLE.",
    default: "5s",
    parse: parseDuration,
  },
} satisfies Record<string, FlagSpec>;

type Value<F> = F extends { default: string; parse: (raw: string) => infer T }
  ? T
  : F extends { parse: (raw: string) => infer T }
    ? T | undefined
    : never;

/** The parsed, frozen settings of `profgate serve`; flags without a default may be unset. */
export type ServeConfig = { readonly [K in keyof typeof SERVE_FLAGS]: Value<(typeof SERVE_FLAGS)[K]> };

/**
 * Checks what one flag needs of another, naming both: a certificate without its key (or the
 * reverse), a client CA without TLS; and that the TLS files load as a certificate, its key and a
 * CA. The upstream flags are checked with the upstream settings.
 */
export function checkServeFlags(config: ServeConfig): void {
  if (
    config.bootstrapOwnerTokenFile !== undefined &&
    config.bootstrapAgentTokenFile !== undefined &&
    readFileSync(config.bootstrapOwnerTokenFile, "utf8").trim() ===
      readFileSync(config.bootstrapAgentTokenFile, "utf8").trim()
  )
    throw new ConfigError(
      "--bootstrap-owner-token-file and --bootstrap-agent-token-file hold the same token: give each account its own (`profgate token generate`).",
    );
  if (config.tlsCertFile !== undefined && config.tlsKeyFile === undefined)
    throw new ConfigError("--tls-cert-file needs --tls-key-file: pass the certificate's private key too.");
  if (config.tlsKeyFile !== undefined && config.tlsCertFile === undefined)
    throw new ConfigError("--tls-key-file needs --tls-cert-file: pass the certificate too.");
  if (config.tlsClientCaFile !== undefined && config.tlsCertFile === undefined)
    throw new ConfigError(
      "--tls-client-ca-file needs --tls-cert-file and --tls-key-file: mTLS is TLS first.",
    );
  if (config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined)
    checkTlsFiles({
      tlsCertFile: config.tlsCertFile,
      tlsKeyFile: config.tlsKeyFile,
      tlsClientCaFile: config.tlsClientCaFile,
    });
}
