import type { ServiceAccountToken } from "../../model.js";

/** Records as JSON: optional fields left out when unset, times as millisecond numbers. */
export const toJson = (record: object): string => JSON.stringify(record);

export function fromJson<T>(json: string): T {
  return JSON.parse(json) as T;
}

/** The embedded store's order: oldest first, ties by id. */
export function byCreation<T extends { createdAt: number; id: string }>(records: T[]): T[] {
  return records.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

export function parseAll<T extends { createdAt: number; id: string }>(jsons: readonly string[]): T[] {
  return byCreation(jsons.map((json) => fromJson<T>(json)));
}

/** A script's array reply of strings (false/nil replies are checked by the caller first). */
export function strings(reply: unknown): string[] {
  if (!Array.isArray(reply) || reply.some((item) => typeof item !== "string")) {
    throw new TypeError("Unexpected reply from a Redis IAM store script.");
  }
  return reply as string[];
}

/** A token record with its last use (kept apart, "" for never) folded in: the later of the two. */
export function tokenWithUse(json: string, used: string | undefined): ServiceAccountToken {
  const token = fromJson<ServiceAccountToken>(json);
  if (used) token.lastUsedAt = Math.max(token.lastUsedAt ?? 0, Number(used));
  return token;
}

/** Tokens from a `token1, used1, token2, used2, ...` run of a script reply. */
export function tokenPairs(items: readonly string[]): ServiceAccountToken[] {
  const tokens: ServiceAccountToken[] = [];
  for (let i = 0; i + 1 < items.length; i += 2) tokens.push(tokenWithUse(items[i]!, items[i + 1]));
  return tokens;
}

/** The id a create script names in its `{ "exists", id }` reply; undefined for any other reply. */
export function existingId(reply: unknown): string | undefined {
  if (!Array.isArray(reply) || reply[0] !== "exists" || typeof reply[1] !== "string") return undefined;
  return reply[1];
}
