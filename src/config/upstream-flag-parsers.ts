import { readFileSync } from "node:fs";
import { formatHostPort, parseHostPort } from "./flag-spec.js";

/** `host:port` of a server to dial: unlike a listen address, the host may not be left out. */
export function parseDialAddress(raw: string): string {
  const text = raw.trim();
  const address = parseHostPort(text);
  if (text.startsWith(":")) throw new Error("a host is required, e.g. parca.example.com:443");
  if (address.port === 0) throw new Error("the port must not be 0");
  return formatHostPort(address);
}

/**
 * A file that must be readable and not empty now, so that a typo fails the start; the path is
 * kept and the file is read again when the gateway starts. The error never shows the content.
 */
export function parseReadableFile(raw: string): string {
  const path = raw.trim();
  if (path === "") throw new Error("must not be empty");
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
  if (content.trim() === "") throw new Error("the file is empty");
  return path;
}

const HEADER_KEY = /^[0-9a-z_.-]+$/;
const RESERVED_KEYS = new Set(["content-type", "te", "user-agent", "grpc-timeout", "host"]);

/**
 * `key=value;key=value` (parca-agent's `--remote-store-grpc-headers` syntax), keys lowercased as
 * gRPC metadata keys are. Values are kept as given; they may hold credentials, so errors name
 * the key only.
 */
export function parseGrpcHeaders(raw: string): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const pair of raw.split(";")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    const key = (at < 0 ? pair : pair.slice(0, at)).trim().toLowerCase();
    if (at < 0 || key === "") throw new Error("expected key=value;key=value");
    if (!HEADER_KEY.test(key) || key.endsWith("-bin")) {
      throw new Error(`header ${JSON.stringify(key)}: keys are letters, digits, '-', '_' and '.'`);
    }
    if (RESERVED_KEYS.has(key) || key.startsWith("grpc-")) {
      throw new Error(`header ${JSON.stringify(key)} is set by gRPC itself`);
    }
    const value = pair.slice(at + 1).trim();
    if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`header ${JSON.stringify(key)}: printable ASCII only`);
    if (key in headers) throw new Error(`header ${JSON.stringify(key)} is given twice`);
    headers[key] = value;
  }
  if (Object.keys(headers).length === 0) throw new Error("expected key=value;key=value");
  return Object.freeze(headers);
}
