import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { redactTokens } from "../../../src/token/redact.js";
import { generateToken, hashToken, isWellFormedToken } from "../../../src/token/token.js";

describe("token format", () => {
  it("generates psc_v1_ plus 64 lowercase hex characters, different every time", () => {
    const tokens = Array.from({ length: 100 }, () => generateToken().secret);
    for (const token of tokens) expect(token).toMatch(/^psc_v1_[0-9a-f]{64}$/);
    expect(new Set(tokens).size).toBe(100);
  });

  it("accepts only the exact format", () => {
    const { secret } = generateToken();
    expect(isWellFormedToken(secret)).toBe(true);
    for (const bad of [
      "",
      "psc_v1_",
      secret.slice(0, -1),
      `${secret}0`,
      secret.toUpperCase(),
      secret.replace("psc_v1_", "psc_v2_"),
      `${secret.slice(0, -1)}g`,
      ` ${secret}`,
      `${secret}\n`,
    ]) {
      expect(isWellFormedToken(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("hashes with SHA-256 of the whole token string; the stored hash never contains the secret", () => {
    const { secret, hash } = generateToken();
    expect(hash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(hashToken(secret)).toBe(hash);
    expect(hash).not.toContain(secret.slice(7));
  });

  it("redacts anything token-shaped from text", () => {
    const { secret } = generateToken();
    const text = redactTokens(`bad token ${secret} and psc_v1_abc`);
    expect(text).not.toContain(secret.slice(7));
    expect(text).toBe("bad token psc_v1_[REDACTED] and psc_v1_[REDACTED]");
    expect(redactTokens("expected psc_v1_ followed by hex")).toBe("expected psc_v1_ followed by hex");
  });
});
