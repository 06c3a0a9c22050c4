import type {
  AuditEntry,
  Organization,
  Project,
  ProjectLimits,
  RoleBinding,
  ServiceAccount,
  ServiceAccountToken,
} from "../model.js";

/** Everything authentication needs about a token, read together. */
export interface PrincipalRecord {
  token: ServiceAccountToken;
  serviceAccount: ServiceAccount;
  bindings: RoleBinding[];
  /** Whether the token's organization is the installation's own (read in the same lookup). */
  installation: boolean;
}

/** One last-used observation, recorded off the request path. */
export interface TokenUse {
  tokenId: string;
  organizationId: string;
  at: number;
}

/**
 * Persistence of the IAM resources. Implementations (embedded file, Redis) behave the same:
 * every method is atomic on its own, quotas hold under concurrency (also across processes
 * sharing a store), deletes cascade, and reads of one organization never return another's
 * resources. Methods that create reject with a `resource_exhausted` DomainError naming the
 * quota when it is full, and with `already_exists` naming the existing record when it would
 * repeat a project's or service account's name in the organization, or a binding's (service
 * account, role, scope) (`unique-names.ts`); records stored before that rule still load.
 * Deletes return what they removed (undefined: nothing matched). A delete that would leave an
 * organization without an active owner (`owner-guard.ts`) rejects with `failed_precondition`;
 * `now` (default: the clock) decides which tokens have expired.
 */
export interface IamStore {
  /** An organization marked `installation` is refused (already_exists) when one exists already. */
  createOrganization(organization: Organization): Promise<void>;
  getOrganization(id: string): Promise<Organization | undefined>;
  listOrganizations(): Promise<Organization[]>;

  createProject(project: Project): Promise<void>;
  getProject(id: string): Promise<Project | undefined>;
  listProjects(organizationId: string): Promise<Project[]>;
  /** Sets (or with undefined, clears) a project's rate limit override; undefined: no such project. */
  setProjectLimits(
    organizationId: string,
    id: string,
    limits: ProjectLimits | undefined,
  ): Promise<Project | undefined>;
  /** Also deletes the role bindings scoped to the project. */
  deleteProject(organizationId: string, id: string): Promise<Project | undefined>;

  createServiceAccount(account: ServiceAccount, maxPerOrganization: number): Promise<void>;
  getServiceAccount(organizationId: string, id: string): Promise<ServiceAccount | undefined>;
  listServiceAccounts(organizationId: string): Promise<ServiceAccount[]>;
  /** Sets (or with undefined, clears) the CIDR ranges its tokens may be used from. */
  setServiceAccountAllowedCidrs(
    organizationId: string,
    id: string,
    cidrs: string[] | undefined,
  ): Promise<ServiceAccount | undefined>;
  /** Also deletes its tokens and role bindings; returns the deleted tokens too. */
  deleteServiceAccount(
    organizationId: string,
    id: string,
    now?: number,
  ): Promise<{ account: ServiceAccount; tokens: ServiceAccountToken[] } | undefined>;

  createToken(token: ServiceAccountToken, maxPerServiceAccount: number): Promise<void>;
  listTokens(organizationId: string, serviceAccountId: string): Promise<ServiceAccountToken[]>;
  countTokens(organizationId: string, serviceAccountId: string): Promise<number>;
  deleteToken(organizationId: string, id: string, now?: number): Promise<ServiceAccountToken | undefined>;
  /** The token with this hash, its service account and the account's bindings. */
  resolvePrincipal(tokenHash: string): Promise<PrincipalRecord | undefined>;
  /** Records last-used dates in one batch; unknown tokens are ignored, dates never go back. */
  recordTokenUses(uses: readonly TokenUse[]): Promise<void>;

  createRoleBinding(binding: RoleBinding): Promise<void>;
  listRoleBindings(organizationId: string, serviceAccountId?: string): Promise<RoleBinding[]>;
  deleteRoleBinding(organizationId: string, id: string, now?: number): Promise<RoleBinding | undefined>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  listAudit(organizationId: string, limit: number): Promise<AuditEntry[]>;

  /**
   * For stores behind a connection: `listener(false)` when it is lost, `listener(true)` when it
   * is back. Caches must drop what they hold on loss, as invalidations may have been missed.
   */
  onAvailabilityChange?(listener: (available: boolean) => void): () => void;

  close(): Promise<void>;
}
