import { readFlagFile } from "../config/flag-file.js";
import { join } from "node:path";
import { ConfigError } from "../config/load-flags.js";

/** The flags of `profgate serve` that concern forwarding (see `SERVE_FLAGS`). */
export interface UpstreamFlags {
  readonly upstreamAddress: string | undefined;
  readonly upstreamInsecure: boolean;
  readonly upstreamTlsCaFile: string | undefined;
  readonly upstreamTlsServerName: string | undefined;
  readonly upstreamBearerTokenFile: string | undefined;
  readonly upstreamGrpcHeaders: Readonly<Record<string, string>> | undefined;
  readonly upstreamTimeout: number;
  readonly spool: false | "disk" | "jetstream";
  readonly spoolMaxBytes: number;
  readonly spoolMaxBackoff: number;
}

/** How to reach the upstream and what to send it; holds the upstream credential, never log it. */
export interface UpstreamSettings {
  /** `host:port` */
  address: string;
  insecure: boolean;
  /** PEM roots to trust instead of the system's. */
  ca?: Buffer;
  /** The name the upstream's certificate must carry when it differs from the address's host. */
  serverName?: string;
  /** The gateway's own credential, sent as `authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Sent on every upstream call; keys lowercase. */
  headers: Readonly<Record<string, string>>;
  /** Bound on each unary call and Write exchange (not on uploads). */
  timeoutMs: number;
  /** Store and forward; absent unless `--spool`. */
  spool?: { dir: string; maxBytes: number; maxBackoffMs: number };
}

const UPSTREAM_ONLY: ReadonlyArray<[keyof UpstreamFlags, string]> = [
  ["upstreamTlsCaFile", "--upstream-tls-ca-file"],
  ["upstreamTlsServerName", "--upstream-tls-server-name"],
  ["upstreamBearerTokenFile", "--upstream-bearer-token-file"],
  ["upstreamGrpcHeaders", "--upstream-grpc-headers"],
  ["spool", "--spool"],
  ["upstreamInsecure", "--upstream-insecure"],
];

/**
 * The forwarding settings, validated across flags and with their files read; undefined when
 * `--upstream-address` is not set (local mode). Throws a ConfigError naming the flag.
 */
export function upstreamSettings(flags: UpstreamFlags, dataDir: string): UpstreamSettings | undefined {
  if (flags.upstreamAddress === undefined) {
    const stray = UPSTREAM_ONLY.find(([key]) => flags[key] !== undefined && flags[key] !== false);
    if (stray) throw new ConfigError(`${stray[1]} needs --upstream-address.`);
    return undefined;
  }
  if (flags.upstreamInsecure && (flags.upstreamTlsCaFile || flags.upstreamTlsServerName)) {
    throw new ConfigError(
      "--upstream-tls-ca-file and --upstream-tls-server-name configure TLS: drop them or --upstream-insecure.",
    );
  }
  const headers = flags.upstreamGrpcHeaders ?? {};
  if (flags.upstreamBearerTokenFile !== undefined && "authorization" in headers) {
    throw new ConfigError(
      "--upstream-grpc-headers may not set authorization together with --upstream-bearer-token-file.",
    );
  }
  const settings: UpstreamSettings = {
    address: flags.upstreamAddress,
    insecure: flags.upstreamInsecure,
    headers,
    timeoutMs: flags.upstreamTimeout,
  };
  if (flags.upstreamTlsCaFile !== undefined) {
    settings.ca = readFlagFile(flags.upstreamTlsCaFile, "--upstream-tls-ca-file");
  }
  if (flags.upstreamTlsServerName !== undefined) settings.serverName = flags.upstreamTlsServerName.trim();
  if (flags.upstreamBearerTokenFile !== undefined) {
    const token = readFlagFile(flags.upstreamBearerTokenFile, "--upstream-bearer-token-file")
      .toString("utf8")
      .trim();
    if (token === "" || /\s/.test(token)) {
      throw new ConfigError("Invalid --upstream-bearer-token-file: the file must hold one token.");
    }
    settings.bearerToken = token;
  }
  if (flags.upstreamTimeout <= 0) throw new ConfigError("--upstream-timeout must be above 0.");
  if (flags.spool === "disk") {
    if (flags.spoolMaxBytes <= 0) throw new ConfigError("--spool-max-bytes must be above 0.");
    if (flags.spoolMaxBackoff <= 0) throw new ConfigError("--spool-max-backoff must be above 0.");
    settings.spool = {
      dir: join(dataDir, "spool"),
      maxBytes: flags.spoolMaxBytes,
      maxBackoffMs: flags.spoolMaxBackoff,
    };
  }
  return settings;
}
