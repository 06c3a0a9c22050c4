import * as crypto from "node:crypto";

/** The prefix every profgate token starts with. */
export const TOKEN_PREFIX = "psc_v1_";
const TOKEN_PATTERN = /^psc_v1_[0-9a-f]{64}$/;

/** Human description of the format, for error messages (never includes a token). */
export const TOKEN_FORMAT_HINT = "psc_v1_ followed by 64 lowercase hex characters";

/** A freshly generated token: the secret (shown once) and the hash that is stored. */
export interface GeneratedToken {
  secret: string;
  hash: string;
}

/** Generates a token from 32 bytes of the operating system's CSPRNG. */
export function generateToken(): GeneratedToken {
  const secret = TOKEN_PREFIX + crypto.randomBytes(32).toString("hex");
  return { secret, hash: hashToken(secret) };
}

/** True when `value` has the exact psc_v1 format; nothing else is ever looked up. */
export function isWellFormedToken(value: string): boolean {
  return value.length === TOKEN_PREFIX.length + 64 && TOKEN_PATTERN.test(value);
}

// Every call hashes its token once to find its principal: the one-shot `crypto.hash` (Node
// >= 20.12) is about 3x cheaper than a Hash object; older Nodes get the same digest the slow way.
const sha256Hex: (text: string) => string =
  typeof crypto.hash === "function"
    ? (text) => crypto.hash("sha256", text, "hex")
    : (text) => crypto.createHash("sha256").update(text).digest("hex");

/**
 * The stored form of a token: hex SHA-256 of the whole token string. Tokens carry 256 random
 * bits, so a fast hash is enough and lets the store find a token by index.
 */
export function hashToken(secret: string): string {
  return sha256Hex(secret);
}
