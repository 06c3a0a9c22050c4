import { readFlagFile } from "../config/flag-file.js";
import { ConfigError } from "../config/load-flags.js";

/** The flags of `profgate serve` that concern JetStream (see `SERVE_FLAGS`). */
export interface JetStreamFlags {
  readonly sink: "local" | "jetstream";
  readonly spool: false | "disk" | "jetstream";
  readonly natsServers: readonly string[];
  readonly natsCredsFile: string | undefined;
  readonly natsTokenFile: string | undefined;
  readonly natsTlsCaFile: string | undefined;
  readonly jetstreamStream: string;
  readonly jetstreamReplicas: number;
  readonly jetstreamMaxAge: number;
  readonly jetstreamMaxBytes: number;
  readonly jetstreamPublishTimeout: number;
  readonly spoolMaxBackoff: number;
  readonly upstreamTimeout: number;
}

/** How to reach JetStream and which stream to keep; holds credentials, never log it. */
export interface JetStreamSettings {
  servers: string[];
  /** The contents of `--nats-creds-file` (a user JWT and its nkey seed). */
  creds?: Uint8Array;
  token?: string;
  /** PEM roots the servers' certificates must chain to; TLS is required when set. */
  ca?: string;
  /** The stream's name, also the first token of its subjects. */
  stream: string;
  replicas: number;
  maxAgeMs: number;
  maxBytes: number;
  /** Bound on the acknowledgement of one publish (every part of a record gets its own). */
  publishTimeoutMs: number;
}

/** What is redacted in a NATS URL before it is logged: a user, password or token in it. */
export function safeServerUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The JetStream settings when `--sink jetstream` or `--spool jetstream` asks for them, with their
 * files read; undefined otherwise. Throws a ConfigError naming the flag.
 */
export function jetStreamSettings(flags: JetStreamFlags, forwarding: boolean): JetStreamSettings | undefined {
  const wanted = flags.sink === "jetstream" || flags.spool === "jetstream";
  if (flags.sink === "jetstream" && forwarding) {
    throw new ConfigError(
      "--sink jetstream stores locally accepted calls: with --upstream-address use --spool jetstream.",
    );
  }
  if (!wanted) {
    const stray = (
      [
        [flags.natsCredsFile, "--nats-creds-file"],
        [flags.natsTokenFile, "--nats-token-file"],
        [flags.natsTlsCaFile, "--nats-tls-ca-file"],
      ] as const
    ).find(([value]) => value !== undefined);
    if (stray) throw new ConfigError(`${stray[1]} needs --sink jetstream or --spool jetstream.`);
    return undefined;
  }
  if (flags.natsCredsFile !== undefined && flags.natsTokenFile !== undefined) {
    throw new ConfigError("--nats-creds-file and --nats-token-file are two ways to sign in: pass one.");
  }
  if (!STREAM_NAME.test(flags.jetstreamStream)) {
    throw new ConfigError("Invalid --jetstream-stream: use letters, digits, '-' and '_' (at most 64).");
  }
  if (flags.jetstreamMaxBytes <= 0) throw new ConfigError("--jetstream-max-bytes must be above 0.");
  if (flags.jetstreamMaxAge <= 0) throw new ConfigError("--jetstream-max-age must be above 0.");
  if (flags.jetstreamPublishTimeout <= 0)
    throw new ConfigError("--jetstream-publish-timeout must be above 0.");
  const settings: JetStreamSettings = {
    servers: [...flags.natsServers],
    stream: flags.jetstreamStream,
    replicas: flags.jetstreamReplicas,
    maxAgeMs: flags.jetstreamMaxAge,
    maxBytes: flags.jetstreamMaxBytes,
    publishTimeoutMs: flags.jetstreamPublishTimeout,
  };
  if (flags.natsCredsFile !== undefined)
    settings.creds = readFlagFile(flags.natsCredsFile, "--nats-creds-file");
  if (flags.natsTokenFile !== undefined) {
    const token = readFlagFile(flags.natsTokenFile, "--nats-token-file").toString("utf8").trim();
    if (token === "" || /\s/.test(token)) {
      throw new ConfigError("Invalid --nats-token-file: the file must hold one token.");
    }
    settings.token = token;
  }
  if (flags.natsTlsCaFile !== undefined) {
    settings.ca = readFlagFile(flags.natsTlsCaFile, "--nats-tls-ca-file").toString("utf8");
  }
  return settings;
}
