/**
 * The Redis IAM store's key layout. `P` is the key prefix (default `profgate:`); `O` is the
 * organization id, URI-encoded so that no id can close the hash tag or end in a key suffix.
 *
 * | key                          | type   | content                                                  |
 * |------------------------------|--------|----------------------------------------------------------|
 * | `P{o:O}:org`                 | string | the Organization (JSON)                                  |
 * | `P{o:O}:projects`            | hash   | project id -> Project (JSON)                             |
 * | `P{o:O}:accounts`            | hash   | service account id -> ServiceAccount (JSON); HLEN = quota count |
 * | `P{o:O}:tokens`              | hash   | token id -> ServiceAccountToken (JSON, lastUsedAt as created) |
 * | `P{o:O}:token-used`          | hash   | token id -> last-used time (ms); read as max with the JSON's |
 * | `P{o:O}:account-tokens`      | hash   | service account id -> JSON array of its token ids (quota count) |
 * | `P{o:O}:bindings`            | hash   | role binding id -> RoleBinding (JSON)                    |
 * | `P{o:O}:account-bindings`    | hash   | service account id -> JSON array of its binding ids      |
 * | `P{o:O}:audit`               | list   | AuditEntry (JSON), newest first, capped at 10,000        |
 * | `P:organizations`            | set    | index: organization ids                                  |
 * | `P:installation`             | string | the installation organization's id (claimed with SET NX)  |
 * | `P:project:<project id>`     | string | index: the project's organization id                     |
 * | `P:token-hash:<sha256 hex>`  | string | index: JSON `[organization id, token id]`                |
 *
 * Everything of one organization shares the hash tag `{o:O}`, hence one Cluster slot, and a
 * fixed set of keys (per-account lists are hash fields, not keys of their own), so every change
 * within an organization, quota check and insert or cascading delete, is one Lua script that
 * names all its keys in KEYS. The secret of a token never reaches Redis: only its hash.
 *
 * The three indexes live in other slots, so steps touching an index and a record cannot be
 * atomic on a Cluster. They are ordered so that an interruption leaves at worst a dangling
 * index entry, and every read through an index checks the record it lands on, so a dangling
 * entry reads as "unknown":
 * - create: the index entry first, then the record; a refused create (quota, missing account,
 *   a name taken) removes its index entry again. The installation claim (`P:installation`, SET NX) precedes
 *   the installation organization's record and is never removed, so that two replicas
 *   bootstrapping one store at the same moment create one installation between them.
 * - delete: the record with its whole cascade first (one script), then the index entries, each
 *   only while it still points to the deleted record (compare-and-delete), best effort.
 */
export class RedisKeys {
  readonly organizations: string;
  readonly installation: string;

  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) {
      throw new Error(`Redis key prefix ${JSON.stringify(prefix)} must not contain "{" or "}" (hash tags).`);
    }
    this.organizations = `${prefix}organizations`;
    this.installation = `${prefix}installation`;
  }

  /** The keys of one organization, all in one Cluster slot. */
  org(organizationId: string): OrgKeys {
    const tag = `${this.prefix}{o:${encodeURIComponent(organizationId)}}`;
    return {
      org: `${tag}:org`,
      projects: `${tag}:projects`,
      accounts: `${tag}:accounts`,
      tokens: `${tag}:tokens`,
      tokenUsed: `${tag}:token-used`,
      accountTokens: `${tag}:account-tokens`,
      bindings: `${tag}:bindings`,
      accountBindings: `${tag}:account-bindings`,
      audit: `${tag}:audit`,
    };
  }

  project(projectId: string): string {
    return `${this.prefix}project:${projectId}`;
  }

  tokenHash(hash: string): string {
    return `${this.prefix}token-hash:${hash}`;
  }
}

/** The keys of one organization (see {@link RedisKeys}). */
export interface OrgKeys {
  org: string;
  projects: string;
  accounts: string;
  tokens: string;
  tokenUsed: string;
  accountTokens: string;
  bindings: string;
  accountBindings: string;
  audit: string;
}

/** The value of a token-hash index entry. */
export const tokenIndexValue = (organizationId: string, tokenId: string): string =>
  JSON.stringify([organizationId, tokenId]);

/** Reads a token-hash index entry; undefined for anything that is not one. */
export function parseTokenIndexValue(value: string): { organizationId: string; tokenId: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") {
    return undefined;
  }
  return { organizationId: parsed[0], tokenId: parsed[1] };
}
