import { createHash, randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { redactedHead, redactedTail, redactTokens } from "../../../src/token/redact.js";
import { generateToken } from "../../../src/token/token.js";

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
/** Every `length`-character piece of `secret`: none may survive in redacted text. */
const pieces = (secret: string, length = 12) =>
  Array.from({ length: secret.length - length + 1 }, (_, i) => secret.slice(i, i + length));

describe("redactTokens", () => {
  it("redacts a bare 64-hex-digit secret, a SHA-256 hash, in either case and in longer runs", () => {
    const secret = generateToken().secret.slice("psc_v1_".length);
    const hash = createHash("sha256").update("x").digest("hex");
    expect(redactTokens(`token ${secret} left`)).toBe("token [REDACTED] left");
    expect(redactTokens(`hash=${hash}`)).toBe("hash=[REDACTED]");
    expect(redactTokens(secret.toUpperCase())).toBe("[REDACTED]");
    expect(redactTokens(`${hex(40)}${secret}`)).toBe("[REDACTED]");
    expect(redactTokens(`x${secret}y`)).toBe("x[REDACTED]y");
  });

  it("leaves shorter hex alone: build ids, UUIDs, addresses, a 63-digit run", () => {
    const kept = [hex(20), randomUUID(), "0x7ffd5a3c9e10", hex(32).slice(0, 63), "deadbeef"];
    for (const text of kept) expect(redactTokens(text)).toBe(text);
  });

  it("is idempotent: redacting redacted text changes nothing", () => {
    const once = redactTokens(`${generateToken().secret} ${hex(32)} psc_v1_abc`);
    expect(once).toBe("psc_v1_[REDACTED] [REDACTED] psc_v1_[REDACTED]");
    expect(redactTokens(once)).toBe(once);
  });
});

describe("redacting before cutting a client's text", () => {
  it("redacts a token the cut would have split inside its digits, keeping the tail's length", () => {
    const token = generateToken().secret;
    const secret = token.slice("psc_v1_".length);
    const end = `\n${"goroutine 1 [running]\n".repeat(180)}`;
    // The last 4096 characters start 24 digits into the secret: 40 digits, no prefix, would remain.
    const text = `${"x".repeat(100)} panic: bad token ${token}${end.padStart(4096 - 40, ".")}`;
    expect(text.slice(-4096)).toContain(secret.slice(24));
    const tail = redactedTail(text, 4096);
    expect(tail.length).toBe(4096);
    expect(tail.endsWith(end)).toBe(true);
    for (const piece of pieces(secret)) expect(tail).not.toContain(piece);
  });

  it("redacts a token the cut would have split inside its prefix", () => {
    const token = generateToken().secret;
    const text = `${"x".repeat(5000)}${token}${" y".repeat(2014)}`;
    expect(text.slice(-4096).startsWith("_v1_")).toBe(true);
    const tail = redactedTail(text, 4096);
    for (const piece of pieces(token.slice(7))) expect(tail).not.toContain(piece);
    expect(tail.endsWith(" y".repeat(2014))).toBe(true);
  });

  it("keeps short text whole, and cuts the head after redacting", () => {
    expect(redactedTail("panic: boom", 4096)).toBe("panic: boom");
    const secret = hex(32);
    const head = redactedHead(`${"n".repeat(30)}${secret}`, 64);
    expect(head).toBe(`${"n".repeat(30)}[REDACTED]`);
    expect(redactedHead("n".repeat(100), 64)).toBe("n".repeat(64));
  });
});
