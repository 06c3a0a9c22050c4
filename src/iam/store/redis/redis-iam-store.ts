import type {
  AuditEntry,
  Organization,
  Project,
  ProjectLimits,
  RoleBinding,
  ServiceAccount,
  ServiceAccountToken,
} from "../../model.js";
import { AUDIT_RETAINED } from "../embedded-state.js";
import type { IamStore, PrincipalRecord, TokenUse } from "../iam-store.js";
import {
  installationExists,
  projectNotFound,
  quotaExceeded,
  serviceAccountNotFound,
} from "../quota-error.js";
import { lastOwnerAccount, lastOwnerBinding } from "../owner-guard.js";
import { projectNameTaken, roleBindingExists, serviceAccountNameTaken } from "../unique-names.js";
import { ConnectionWatch } from "./connection-watch.js";
import * as scripts from "./iam-scripts.js";
import type { RedisClient } from "./lua-script.js";
import { RedisAccess } from "./redis-access.js";
import { RedisKeys } from "./redis-keys.js";
import { existingId, fromJson, parseAll, strings, tokenPairs, toJson } from "./redis-records.js";
import { RedisTokens } from "./redis-tokens.js";
import { toStoreError } from "./store-unavailable.js";

/** Options of {@link RedisIamStore}. */
export interface RedisIamStoreOptions {
  /** Prefix of every key the store writes (default `profgate:`); no `{` or `}`. */
  keyPrefix?: string;
  /** Whether `close()` also closes the client (default false: the caller's client stays open). */
  ownsClient?: boolean;
  /** Errors thrown by availability listeners. */
  onListenerError?: (error: unknown) => void;
}

/**
 * The IAM store shared by gateway replicas: a Redis server or Cluster (layout and ordering rules
 * in `redis-keys.ts`). Behaves as the embedded store: every change within an organization is
 * one Lua script, so quotas and cascades hold across processes. A lost connection, a timeout or
 * a transient Redis reply rejects with an `unavailable` DomainError; with a client configured
 * as `createRedisClient` does, that happens at once instead of waiting for Redis to return.
 */
export class RedisIamStore implements IamStore {
  private readonly redis: RedisAccess;
  private readonly tokens: RedisTokens;
  private readonly watch: ConnectionWatch;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisIamStoreOptions = {},
  ) {
    this.redis = new RedisAccess(client, new RedisKeys(options.keyPrefix ?? "profgate:"));
    this.tokens = new RedisTokens(this.redis);
    this.watch = new ConnectionWatch(client, options.onListenerError);
  }

  /**
   * Calls `listener(false)` when the connection (for a Cluster: the whole cluster) is lost and
   * `listener(true)` when it is ready again, once per change. After a loss, invalidation messages
   * may have been missed: a cache of store reads should be dropped. Returns the unsubscribe function.
   */
  onAvailabilityChange(listener: (available: boolean) => void): () => void {
    return this.watch.subscribe((state) => listener(state === "up"));
  }

  /** Whether the connection is ready now. */
  get available(): boolean {
    return this.watch.current === "up";
  }

  createOrganization(organization: Organization): Promise<void> {
    return this.guard(async () => {
      // The claim comes first and is never undone: at most one installation, whatever fails later.
      if (organization.installation) {
        const claimed = await this.client.set(this.redis.keys.installation, organization.id, "NX");
        if (claimed !== "OK") throw installationExists();
      }
      await this.client.sadd(this.redis.keys.organizations, organization.id);
      await this.client.set(this.org(organization.id).org, toJson(organization));
    });
  }
  getOrganization(id: string): Promise<Organization | undefined> {
    return this.guard(async () => optional(await this.client.get(this.org(id).org)));
  }
  listOrganizations(): Promise<Organization[]> {
    return this.guard(async () => {
      const ids = await this.client.smembers(this.redis.keys.organizations);
      const jsons = await Promise.all(ids.map((id) => this.client.get(this.org(id).org)));
      return parseAll<Organization>(jsons.filter((json) => json !== null));
    });
  }

  createProject(project: Project): Promise<void> {
    return this.guard(async () => {
      const index = this.redis.keys.project(project.id);
      await this.client.set(index, project.organizationId);
      const keys = [this.org(project.organizationId).projects];
      const reply = await this.redis.script(scripts.CREATE_PROJECT, keys, [
        project.id,
        toJson(project),
        project.name,
      ]);
      const taken = existingId(reply);
      if (taken === undefined) return;
      await this.redis.unindex(index, project.organizationId);
      throw projectNameTaken(project.name, taken);
    });
  }
  getProject(id: string): Promise<Project | undefined> {
    return this.guard(async () => {
      const organizationId = await this.client.get(this.redis.keys.project(id));
      if (organizationId === null) return undefined;
      return optional(await this.client.hget(this.org(organizationId).projects, id));
    });
  }
  listProjects(organizationId: string): Promise<Project[]> {
    return this.guard(async () => parseAll(await this.client.hvals(this.org(organizationId).projects)));
  }
  setProjectLimits(organizationId: string, id: string, limits: ProjectLimits | undefined) {
    return this.guard(async () => {
      const keys = [this.org(organizationId).projects];
      const reply = await this.redis.script(scripts.SET_RECORD_FIELD, keys, [
        id,
        "limits",
        limits ? toJson(limits) : "",
      ]);
      return typeof reply === "string" ? fromJson<Project>(reply) : undefined;
    });
  }
  deleteProject(organizationId: string, id: string): Promise<Project | undefined> {
    return this.guard(async () => {
      const k = this.org(organizationId);
      const reply = await this.redis.script(
        scripts.DELETE_PROJECT,
        [k.projects, k.bindings, k.accountBindings],
        [id],
      );
      if (typeof reply !== "string") return undefined;
      await this.redis.unindex(this.redis.keys.project(id), organizationId);
      return fromJson<Project>(reply);
    });
  }

  createServiceAccount(account: ServiceAccount, maxPerOrganization: number): Promise<void> {
    return this.guard(async () => {
      const args = [account.id, toJson(account), maxPerOrganization, account.name];
      const outcome = await this.redis.script(
        scripts.CREATE_ACCOUNT,
        [this.org(account.organizationId).accounts],
        args,
      );
      const taken = existingId(outcome);
      if (taken !== undefined) throw serviceAccountNameTaken(account.name, taken);
      if (outcome === "quota") throw quotaExceeded("service accounts per organization", maxPerOrganization);
    });
  }
  getServiceAccount(organizationId: string, id: string): Promise<ServiceAccount | undefined> {
    return this.guard(async () => optional(await this.client.hget(this.org(organizationId).accounts, id)));
  }
  listServiceAccounts(organizationId: string): Promise<ServiceAccount[]> {
    return this.guard(async () => parseAll(await this.client.hvals(this.org(organizationId).accounts)));
  }
  setServiceAccountAllowedCidrs(organizationId: string, id: string, cidrs: string[] | undefined) {
    return this.guard(async () => {
      const keys = [this.org(organizationId).accounts];
      const value = cidrs ? toJson(cidrs) : "";
      const reply = await this.redis.script(scripts.SET_RECORD_FIELD, keys, [id, "allowedCidrs", value]);
      return typeof reply === "string" ? fromJson<ServiceAccount>(reply) : undefined;
    });
  }
  deleteServiceAccount(organizationId: string, id: string, now = Date.now()) {
    return this.guard(async () => {
      const k = this.org(organizationId);
      const keys = [k.accounts, k.tokens, k.tokenUsed, k.accountTokens, k.bindings, k.accountBindings];
      const reply = await this.redis.script(scripts.DELETE_ACCOUNT, keys, [id, Math.trunc(now)]);
      if (!reply) return undefined;
      if (reply === "last_owner") throw lastOwnerAccount(id);
      const [account, ...rest] = strings(reply);
      const tokens = tokenPairs(rest);
      await this.tokens.unindex(organizationId, tokens);
      return { account: fromJson<ServiceAccount>(account!), tokens };
    });
  }

  createToken(token: ServiceAccountToken, maxPerServiceAccount: number): Promise<void> {
    return this.guard(() => this.tokens.create(token, maxPerServiceAccount));
  }
  listTokens(organizationId: string, serviceAccountId: string): Promise<ServiceAccountToken[]> {
    return this.guard(() => this.tokens.list(organizationId, serviceAccountId));
  }
  countTokens(organizationId: string, serviceAccountId: string): Promise<number> {
    return this.guard(() => this.tokens.count(organizationId, serviceAccountId));
  }
  deleteToken(
    organizationId: string,
    id: string,
    now = Date.now(),
  ): Promise<ServiceAccountToken | undefined> {
    return this.guard(() => this.tokens.delete(organizationId, id, now));
  }
  resolvePrincipal(tokenHash: string): Promise<PrincipalRecord | undefined> {
    return this.guard(() => this.tokens.resolve(tokenHash));
  }
  recordTokenUses(uses: readonly TokenUse[]): Promise<void> {
    return this.guard(() => this.tokens.recordUses(uses));
  }

  createRoleBinding(binding: RoleBinding): Promise<void> {
    return this.guard(async () => {
      const k = this.org(binding.organizationId);
      const args = [binding.serviceAccountId, binding.id, toJson(binding), binding.role];
      if (binding.projectId !== undefined) args.push(binding.projectId);
      const keys = [k.accounts, k.projects, k.bindings, k.accountBindings];
      const outcome = await this.redis.script(scripts.CREATE_BINDING, keys, args);
      if (outcome === "no_account") throw serviceAccountNotFound(binding.serviceAccountId);
      if (outcome === "no_project") throw projectNotFound(binding.projectId ?? "");
      const taken = existingId(outcome);
      if (taken !== undefined) throw roleBindingExists(binding, taken);
    });
  }
  listRoleBindings(organizationId: string, serviceAccountId?: string): Promise<RoleBinding[]> {
    return this.guard(async () => {
      const all = parseAll<RoleBinding>(await this.client.hvals(this.org(organizationId).bindings));
      return all.filter((b) => serviceAccountId === undefined || b.serviceAccountId === serviceAccountId);
    });
  }
  deleteRoleBinding(organizationId: string, id: string, now = Date.now()): Promise<RoleBinding | undefined> {
    return this.guard(async () => {
      const k = this.org(organizationId);
      const keys = [k.bindings, k.accountBindings, k.accountTokens, k.tokens];
      const reply = await this.redis.script(scripts.DELETE_BINDING, keys, [id, Math.trunc(now)]);
      if (reply === "last_owner") throw lastOwnerBinding(id);
      return typeof reply === "string" ? fromJson<RoleBinding>(reply) : undefined;
    });
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return this.guard(async () => {
      const key = this.org(entry.organizationId).audit;
      const results = await this.client
        .multi()
        .lpush(key, toJson(entry))
        .ltrim(key, 0, AUDIT_RETAINED - 1)
        .exec();
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
    });
  }
  listAudit(organizationId: string, limit: number): Promise<AuditEntry[]> {
    return this.guard(async () => {
      if (limit <= 0) return [];
      const jsons = await this.client.lrange(this.org(organizationId).audit, 0, limit - 1);
      return jsons.map((json) => fromJson<AuditEntry>(json));
    });
  }

  /** Stops reporting connection changes; closes the client only when the store owns it. */
  async close(): Promise<void> {
    this.watch.detach();
    if (!this.options.ownsClient) return;
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  private org(organizationId: string) {
    return this.redis.keys.org(organizationId);
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

function optional<T>(json: string | null): T | undefined {
  return json === null ? undefined : fromJson<T>(json);
}
