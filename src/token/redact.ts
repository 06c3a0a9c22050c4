const TOKEN_SHAPED = /psc_v1_[0-9A-Za-z]+/g;
/**
 * 64 hex digits or more in a row: a token's secret without its `psc_v1_` prefix looks like this,
 * and so does its SHA-256 hash, which finds the token in the store. Both are treated as secret.
 */
const BARE_SECRET = /[0-9A-Fa-f]{64,}/g;

/**
 * Replaces anything token-shaped in `text` (`psc_v1_...`, and any run of 64 or more hex digits),
 * so that no secret reaches a log or an error. Redacting twice changes nothing.
 */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_SHAPED, "psc_v1_[REDACTED]").replace(BARE_SECRET, "[REDACTED]");
}

/**
 * A client's text cut to its first `max` characters for a log line or an error, redacted before
 * the cut: cutting first could leave a secret's digits without the prefix or length that marks them.
 */
export function redactedHead(text: string, max: number): string {
  return redactTokens(text).slice(0, max);
}

/** As {@link redactedHead}, keeping the last `max` characters (the end of a crash report). */
export function redactedTail(text: string, max: number): string {
  const redacted = redactTokens(text);
  return redacted.length > max ? redacted.slice(-max) : redacted;
}
