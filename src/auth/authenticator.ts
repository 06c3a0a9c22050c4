import { DomainError } from "../errors.js";
import { isAllowed } from "../iam/authorize.js";
import type { IamChange, IamEvents } from "../iam/iam-events.js";
import type { ProjectLimits } from "../iam/model.js";
import type { Permission } from "../iam/permissions.js";
import type { IamStore } from "../iam/store/iam-store.js";
import { hashToken } from "../token/token.js";
import { deny } from "./credentials.js";
import type { Principal } from "./principal.js";
import { principalFromRecord } from "./principal-from-record.js";
import { TtlCache } from "./ttl-cache.js";

/** How the authenticator caches; times in milliseconds. */
export interface AuthCacheOptions {
  maxEntries: number;
  ttlMs: number;
  negativeTtlMs: number;
  /** How long past its lifetime a principal keeps working while the store is unreachable. */
  staleWindowMs: number;
}

export const DEFAULT_AUTH_CACHE: AuthCacheOptions = {
  maxEntries: 100_000,
  ttlMs: 30_000,
  negativeTtlMs: 60_000,
  staleWindowMs: 5 * 60_000,
};

export type CacheEvent = "hit" | "miss" | "negative_hit" | "stale" | "invalidation";

export interface AuthenticatorOptions {
  store: Pick<IamStore, "resolvePrincipal" | "getProject">;
  events: IamEvents;
  cache?: Partial<AuthCacheOptions>;
  now?: () => number;
  onCacheEvent?: (event: CacheEvent) => void;
}

/** What authorization needs of a project, cached. */
export interface ProjectInfo {
  organizationId: string;
  limits?: ProjectLimits | undefined;
}

/** `null` caches a miss: the token or project does not exist. */
type Cached<T> = T | null;

function permissionDenied(permission: Permission, projectId: string | undefined) {
  const where = projectId === undefined ? "this organization" : `project ${projectId}`;
  return deny(
    "permission_denied",
    "permission_denied",
    `Permission denied: ${permission} is missing on ${where}; ask an owner for a role binding that grants it.`,
  );
}

const storeUnavailable = () =>
  deny("unavailable", "store_unavailable", "The IAM store is unreachable; this is transient, retry shortly.");

/**
 * Turns a token into a principal and decides calls, serving from memory: principals and
 * projects are cached with bounded size and lifetime, unknown tokens are cached negatively,
 * concurrent misses share one store lookup, IAM changes evict at once, and when the store is
 * unreachable recently verified principals keep working for a bounded stale window. Never fails
 * open: anything not known to be allowed is refused.
 */
export class Authenticator {
  private readonly options: AuthCacheOptions;
  private readonly now: () => number;
  private readonly principals: TtlCache<string, Cached<Principal>>;
  private readonly projects: TtlCache<string, Cached<ProjectInfo>>;
  private readonly inflight = new Map<string, Promise<Cached<unknown>>>();
  /** Bumped by every invalidation, so that a lookup that raced one is not cached. */
  private generation = 0;

  constructor(private readonly deps: AuthenticatorOptions) {
    this.options = { ...DEFAULT_AUTH_CACHE, ...deps.cache };
    this.now = deps.now ?? Date.now;
    this.principals = new TtlCache(this.options.maxEntries, this.now);
    this.projects = new TtlCache(this.options.maxEntries, this.now);
    deps.events.subscribe((change) => this.invalidate(change));
  }

  /** Authenticates a well-formed token; UNAUTHENTICATED when unknown or expired. */
  async principal(token: string, tokenHash = hashToken(token)): Promise<Principal> {
    const principal = await this.cached(this.principals, `t:${tokenHash}`, tokenHash, async () => {
      const record = await this.deps.store.resolvePrincipal(tokenHash);
      return record ? principalFromRecord(record) : null;
    });
    return this.valid(principal);
  }

  /**
   * `principal` answered from the cache alone, without waiting: the principal, or the same
   * UNAUTHENTICATED for a token cached as unknown or expired; undefined when the store must
   * be asked.
   */
  principalNow(tokenHash: string): Principal | undefined {
    const cached = this.principals.get(tokenHash);
    if (cached === undefined) return undefined;
    this.deps.onCacheEvent?.(cached === null ? "negative_hit" : "hit");
    return this.valid(cached);
  }

  /**
   * Whether `tokenHash` belonged to a valid, unexpired token when it was last looked up, even if
   * that cache entry has expired since: such a token is no guess, and the failed-auth limiter
   * does not refuse it.
   */
  wasValid(tokenHash: string): boolean {
    const principal = this.principals.getStale(tokenHash)?.value;
    return !!principal && (principal.expiresAt === undefined || principal.expiresAt > this.now());
  }

  private valid(principal: Cached<Principal>): Principal {
    if (!principal) {
      throw deny("unauthenticated", "unknown_token", "Invalid token: it is unknown or has been revoked.");
    }
    if (principal.expiresAt !== undefined && principal.expiresAt <= this.now()) {
      throw deny("unauthenticated", "expired_token", "Invalid token: it has expired; create a new one.");
    }
    return principal;
  }

  /**
   * What authorization needs of a project (null: it does not exist), from the cache or the
   * store. The decision starts it together with the principal's lookup, so that a cold call
   * waits for the slower of the two instead of both in turn.
   */
  project(projectId: string): Promise<ProjectInfo | null> {
    return this.cached(this.projects, `p:${projectId}`, projectId, async () => {
      const found = await this.deps.store.getProject(projectId);
      return found ? { organizationId: found.organizationId, limits: found.limits } : null;
    });
  }

  /** `project` answered from the cache alone; undefined when the store must be asked. */
  projectNow(projectId: string): ProjectInfo | null | undefined {
    const cached = this.projects.get(projectId);
    if (cached !== undefined) this.deps.onCacheEvent?.(cached === null ? "negative_hit" : "hit");
    return cached;
  }

  /**
   * Throws PERMISSION_DENIED unless the principal holds `permission` in `projectId` (which must
   * exist in its organization). The message is the same whether the project exists or not.
   * `lookup` is the project's lookup when the caller already started it.
   */
  async authorize(
    principal: Principal,
    permission: Permission,
    projectId?: string,
    lookup?: Promise<ProjectInfo | null>,
  ): Promise<ProjectInfo | undefined> {
    this.checkGrant(principal, permission, projectId);
    if (projectId === undefined) return undefined;
    return this.checkProject(principal, permission, projectId, await (lookup ?? this.project(projectId)));
  }

  /** The first half of `authorize`: PERMISSION_DENIED unless a binding grants `permission` there. */
  checkGrant(principal: Principal, permission: Permission, projectId: string | undefined): void {
    if (!isAllowed(principal.grants, permission, projectId)) throw permissionDenied(permission, projectId);
  }

  /** The second half: the project must exist in the principal's organization. */
  checkProject(
    principal: Principal,
    permission: Permission,
    projectId: string,
    project: ProjectInfo | null,
  ): ProjectInfo {
    if (project?.organizationId !== principal.organizationId) throw permissionDenied(permission, projectId);
    return project;
  }

  /** Throws PERMISSION_DENIED when the service account is restricted to ranges that exclude `address`. */
  checkAddress(principal: Principal, address: string): void {
    if (principal.allowedFrom && !principal.allowedFrom(address)) {
      throw deny(
        "permission_denied",
        "address_not_allowed",
        "Permission denied: this service account's tokens may not be used from this network address.",
      );
    }
  }

  private async cached<T>(
    cache: TtlCache<string, Cached<T>>,
    flightKey: string,
    key: string,
    load: () => Promise<Cached<T>>,
  ): Promise<Cached<T>> {
    const fresh = cache.get(key);
    if (fresh !== undefined) {
      this.deps.onCacheEvent?.(fresh === null ? "negative_hit" : "hit");
      return fresh;
    }
    this.deps.onCacheEvent?.("miss");
    let flight = this.inflight.get(flightKey) as Promise<Cached<T>> | undefined;
    if (!flight) {
      const generation = this.generation;
      flight = load().then((value) => {
        if (generation === this.generation) {
          cache.set(key, value, value === null ? this.options.negativeTtlMs : this.options.ttlMs);
        }
        return value;
      });
      this.inflight.set(flightKey, flight);
      void flight.then(
        () => this.inflight.delete(flightKey),
        () => this.inflight.delete(flightKey),
      );
    }
    try {
      return await flight;
    } catch (error) {
      if (error instanceof DomainError && error.kind !== "unavailable") throw error;
      const stale = cache.getStale(key);
      if (stale && stale.value !== null && stale.expiredFor <= this.options.staleWindowMs) {
        this.deps.onCacheEvent?.("stale");
        return stale.value;
      }
      throw storeUnavailable();
    }
  }

  /** Applies an IAM change to the caches; see `IamChange`. */
  invalidate(change: IamChange): void {
    this.generation++;
    this.deps.onCacheEvent?.("invalidation");
    switch (change.kind) {
      case "token-deleted":
        this.principals.delete(change.tokenHash);
        return;
      case "service-account-changed":
        this.principals.deleteWhere((p) => p?.serviceAccountId === change.serviceAccountId);
        return;
      case "project-changed":
        this.projects.delete(change.projectId);
        return;
      case "project-deleted":
        this.projects.delete(change.projectId);
        this.principals.deleteWhere((p) => p?.grants.some((g) => g.projectId === change.projectId) ?? false);
        return;
      case "everything":
        // Re-read everything before trusting it again, yet keep it for the stale window: the
        // store may still be unreachable from here while the message saying so has arrived.
        this.principals.expireAll();
        this.projects.expireAll();
        return;
    }
  }
}
