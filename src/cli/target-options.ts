import { readFileSync } from "node:fs";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { parseDuration, parseHostPort } from "../config/flag-spec.js";
import { invalidArgument } from "../errors.js";
import type { H2Target } from "../rpc/h2-unary.js";
import { isWellFormedToken } from "../token/token.js";

/** Flags every traffic command shares, for `parseArgs`. */
export const TARGET_FLAGS = {
  target: { type: "string", default: "127.0.0.1:7070" },
  tls: { type: "boolean", default: false },
  "tls-ca-file": { type: "string" },
  "tls-server-name": { type: "string" },
  "token-file": { type: "string" },
  timeout: { type: "string", default: "30s" },
  "report-interval": { type: "string", default: "5s" },
  output: { type: "string", short: "o", default: "table" },
} as const;

/** Where to send traffic and how: plaintext h2c, or TLS with an optional CA and server name. */
export function channelFor(values: {
  target?: string;
  tls?: boolean;
  "tls-ca-file"?: string;
  "tls-server-name"?: string;
}): {
  target: string;
  channel: ChannelCredentials;
  channelOptions: Record<string, unknown>;
  /** The same target for the load generator's lean HTTP/2 client. */
  h2: H2Target;
} {
  const target = values.target ?? "127.0.0.1:7070";
  try {
    parseHostPort(target);
  } catch {
    throw invalidArgument(`--target must be host:port, not ${JSON.stringify(target)}.`);
  }
  const tls = values.tls || values["tls-ca-file"] !== undefined;
  const serverName = values["tls-server-name"];
  const ca = values["tls-ca-file"] ? readFileSync(values["tls-ca-file"]) : undefined;
  return {
    target,
    h2: { target, ...(tls ? { tls: { ca, serverName } } : {}) },
    channel: tls ? credentials.createSsl(ca ?? null) : credentials.createInsecure(),
    channelOptions: serverName
      ? { "grpc.ssl_target_name_override": serverName, "grpc.default_authority": serverName }
      : {},
  };
}

/** A duration flag's value in milliseconds ("0" is 0); a usage error naming the flag otherwise. */
export function durationFlag(flag: string, value: string): number {
  if (value.trim() === "0") return 0;
  try {
    return parseDuration(value);
  } catch {
    throw invalidArgument(`--${flag} must be a duration such as 5s or 2m, not ${JSON.stringify(value)}.`);
  }
}

/**
 * Reads and checks one token file. A file that cannot be read or holds no token fails the run
 * (exit 1), as in `profgate iam`: the command line named a file, the file is what is wrong.
 */
export function readToken(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new Error(
      `Cannot read the token file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  if (!isWellFormedToken(token)) throw new Error(`The token file ${path} does not hold a psc_v1 token.`);
  return token;
}
