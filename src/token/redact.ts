const TOKEN_SHAPED = /psc_v1_[0-9A-Za-z]+/g;

/** Replaces anything token-shaped in `text`, so that no secret reaches a log or an error. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_SHAPED, "psc_v1_[REDACTED]");
}
