import type { Organization, RoleBinding, ServiceAccount, ServiceAccountToken } from "../../model.js";
import type { PrincipalRecord, TokenUse } from "../iam-store.js";
import { lastOwnerToken } from "../owner-guard.js";
import { quotaExceeded, serviceAccountNotFound } from "../quota-error.js";
import * as scripts from "./iam-scripts.js";
import type { RedisAccess } from "./redis-access.js";
import { parseTokenIndexValue, tokenIndexValue } from "./redis-keys.js";
import {
  byCreation,
  fromJson,
  parseAll,
  strings,
  tokenPairs,
  tokenWithUse,
  toJson,
} from "./redis-records.js";

/** Uses per script call in `recordUses`, so that no single script runs long. */
const USES_PER_CALL = 500;

/**
 * The token half of the Redis IAM store: tokens are found by the hash index, counted against
 * their account's quota in the create script, and their last use is kept apart from the record.
 */
export class RedisTokens {
  constructor(private readonly redis: RedisAccess) {}

  async create(token: ServiceAccountToken, maxPerServiceAccount: number): Promise<void> {
    const k = this.redis.keys.org(token.organizationId);
    const index = this.redis.keys.tokenHash(token.hash);
    const indexValue = tokenIndexValue(token.organizationId, token.id);
    // Index first: until the record exists, resolving through it finds nothing.
    await this.redis.client.set(index, indexValue);
    const args = [token.serviceAccountId, token.id, toJson(token), maxPerServiceAccount];
    const outcome = await this.redis.script(
      scripts.CREATE_TOKEN,
      [k.accounts, k.tokens, k.accountTokens],
      args,
    );
    if (outcome === "ok") return;
    await this.redis.unindex(index, indexValue);
    if (outcome === "quota") throw quotaExceeded("tokens per service account", maxPerServiceAccount);
    throw serviceAccountNotFound(token.serviceAccountId);
  }

  async list(organizationId: string, serviceAccountId: string): Promise<ServiceAccountToken[]> {
    const k = this.redis.keys.org(organizationId);
    const keys = [k.tokens, k.tokenUsed, k.accountTokens];
    return byCreation(
      tokenPairs(strings(await this.redis.script(scripts.LIST_TOKENS, keys, [serviceAccountId]))),
    );
  }

  async count(organizationId: string, serviceAccountId: string): Promise<number> {
    const ids = await this.redis.client.hget(
      this.redis.keys.org(organizationId).accountTokens,
      serviceAccountId,
    );
    return ids === null ? 0 : fromJson<string[]>(ids).length;
  }

  async delete(organizationId: string, id: string, now: number): Promise<ServiceAccountToken | undefined> {
    const k = this.redis.keys.org(organizationId);
    const reply = await this.redis.script(
      scripts.DELETE_TOKEN,
      [k.tokens, k.tokenUsed, k.accountTokens, k.bindings],
      [id, Math.trunc(now)],
    );
    if (!reply) return undefined;
    if (reply === "last_owner") throw lastOwnerToken(id);
    const [token] = tokenPairs(strings(reply));
    await this.unindex(organizationId, [token!]);
    return token;
  }

  /** Removes the hash index entries of tokens already deleted. */
  async unindex(organizationId: string, tokens: readonly ServiceAccountToken[]): Promise<void> {
    await Promise.all(
      tokens.map((t) =>
        this.redis.unindex(this.redis.keys.tokenHash(t.hash), tokenIndexValue(organizationId, t.id)),
      ),
    );
  }

  /** Two round trips: the hash index, then one script in the organization's slot. */
  async resolve(tokenHash: string): Promise<PrincipalRecord | undefined> {
    const indexValue = await this.redis.client.get(this.redis.keys.tokenHash(tokenHash));
    const target = indexValue === null ? undefined : parseTokenIndexValue(indexValue);
    if (!target) return undefined;
    const k = this.redis.keys.org(target.organizationId);
    const keys = [k.tokens, k.tokenUsed, k.accounts, k.bindings, k.accountBindings, k.org];
    const reply = await this.redis.script(scripts.RESOLVE, keys, [target.tokenId, tokenHash]);
    if (!reply) return undefined;
    const [token, used, account, organization, ...bindings] = strings(reply);
    return {
      token: tokenWithUse(token!, used),
      serviceAccount: fromJson<ServiceAccount>(account!),
      bindings: parseAll<RoleBinding>(bindings),
      installation: organization ? fromJson<Organization>(organization).installation === true : false,
    };
  }

  /** One script call per organization (one slot each), all sent at once. */
  async recordUses(uses: readonly TokenUse[]): Promise<void> {
    const byOrganization = new Map<string, TokenUse[]>();
    for (const use of uses) {
      const ofOrg = byOrganization.get(use.organizationId);
      if (ofOrg) ofOrg.push(use);
      else byOrganization.set(use.organizationId, [use]);
    }
    const calls: Promise<unknown>[] = [];
    for (const [organizationId, ofOrg] of byOrganization) {
      const k = this.redis.keys.org(organizationId);
      for (let i = 0; i < ofOrg.length; i += USES_PER_CALL) {
        const args = ofOrg.slice(i, i + USES_PER_CALL).flatMap((use) => [use.tokenId, Math.trunc(use.at)]);
        calls.push(this.redis.script(scripts.RECORD_USES, [k.tokens, k.tokenUsed], args));
      }
    }
    await Promise.all(calls);
  }
}
