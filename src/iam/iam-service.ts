import { randomUUID } from "node:crypto";
import { DomainError, invalidArgument, notFound } from "../errors.js";
import { generateToken, hashToken, isWellFormedToken } from "../token/token.js";
import { type Actor, requirePermission } from "./actor.js";
import type { IamEvents } from "./iam-events.js";
import {
  type AuditEntry,
  isRole,
  type Organization,
  type Project,
  type ProjectLimits,
  type RoleBinding,
  type ServiceAccount,
  type ServiceAccountToken,
} from "./model.js";
import { normalizeCidr } from "./cidr.js";
import { QUOTAS, type Quotas } from "./quotas.js";
import type { IamStore } from "./store/iam-store.js";

/** A token as returned once at creation: its metadata and the secret. */
export interface CreatedToken {
  token: ServiceAccountToken;
  secret: string;
}

export interface IamServiceOptions {
  events: IamEvents;
  quotas?: Quotas;
  now?: () => number;
}

const NAME_MAX = 128;

const isWhole = (n: number) => Number.isSafeInteger(n) && n >= 0;

function validName(kind: string, name: string): string {
  const trimmed = name.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (trimmed === "" || trimmed.length > NAME_MAX || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw invalidArgument(`A ${kind} name must be 1 to ${NAME_MAX} printable characters.`, "invalid_name");
  }
  return trimmed;
}

/**
 * The IAM use cases: every change is authorized against the actor's grants, confined to the
 * actor's organization, written to the store, audited, and announced to principal caches.
 */
export class IamService {
  private readonly quotas: Quotas;
  private readonly now: () => number;
  private readonly events: IamEvents;

  constructor(
    private readonly store: IamStore,
    options: IamServiceOptions,
  ) {
    this.quotas = options.quotas ?? QUOTAS;
    this.now = options.now ?? Date.now;
    this.events = options.events;
  }

  get limits(): Quotas {
    return this.quotas;
  }

  /** Creates an organization with an `owner` service account and its first token. */
  async createOrganization(
    actor: Actor | undefined,
    name: string,
    options: { installation?: boolean; ownerSecret?: string } = {},
  ) {
    if (actor && !actor.installationOwner) {
      throw new DomainError(
        "permission_denied",
        "Only owners of the installation's organization can create organizations.",
        "permission_denied",
      );
    }
    const organization: Organization = {
      id: randomUUID(),
      name: validName("organization", name),
      createdAt: this.now(),
      ...(options.installation ? { installation: true } : {}),
    };
    await this.store.createOrganization(organization);
    await this.audit(organization.id, actor, "organization.create", "organization", organization.id, {
      name,
    });
    const founder: Actor = {
      organizationId: organization.id,
      serviceAccountId: "",
      grants: [{ role: "owner" }],
    };
    const owner = await this.createServiceAccount(founder, "owner", actor?.serviceAccountId ?? "");
    await this.createRoleBinding(
      founder,
      { serviceAccountId: owner.id, role: "owner" },
      actor?.serviceAccountId ?? "",
    );
    const ownerToken = await this.createToken(
      founder,
      { serviceAccountId: owner.id, name: "owner" },
      options.ownerSecret,
    );
    return { organization, owner, ownerToken };
  }

  async listOrganizations(actor: Actor): Promise<Organization[]> {
    if (actor.installationOwner) return this.store.listOrganizations();
    const own = await this.store.getOrganization(actor.organizationId);
    return own ? [own] : [];
  }

  /** `id`: the installation's bootstrap may be given the default project's id; the API never. */
  async createProject(actor: Actor, name: string, id: string = randomUUID()): Promise<Project> {
    requirePermission(actor, "project.create");
    const project: Project = {
      id,
      name: validName("project", name),
      organizationId: actor.organizationId,
      createdAt: this.now(),
    };
    await this.store.createProject(project);
    await this.audit(actor.organizationId, actor, "project.create", "project", project.id, {
      name: project.name,
    });
    return project;
  }

  async listProjects(actor: Actor): Promise<Project[]> {
    requirePermission(actor, "project.list");
    return this.store.listProjects(actor.organizationId);
  }

  async deleteProject(actor: Actor, projectId: string): Promise<Project> {
    requirePermission(actor, "project.delete", projectId);
    const project = await this.store.deleteProject(actor.organizationId, projectId);
    if (!project)
      throw notFound(`Project ${projectId} does not exist in this organization.`, "project_not_found");
    this.events.publish({ kind: "project-deleted", projectId });
    await this.audit(actor.organizationId, actor, "project.delete", "project", projectId, {
      name: project.name,
    });
    return project;
  }

  /**
   * Sets a project's ingestion rate limit and debuginfo quota; undefined (or zeros) returns them
   * to the gateway's defaults.
   */
  async setProjectLimits(
    actor: Actor,
    projectId: string,
    limits: ProjectLimits | undefined,
  ): Promise<Project> {
    requirePermission(actor, "project.update", projectId);
    if (
      limits &&
      !(
        isWhole(limits.bytesPerSecond) &&
        isWhole(limits.burstBytes) &&
        isWhole(limits.debuginfoBytes ?? 0) &&
        (limits.bytesPerSecond > 0 || (limits.burstBytes === 0 && (limits.debuginfoBytes ?? 0) > 0))
      )
    ) {
      throw invalidArgument(
        "A rate limit needs whole, positive bytes per second and a burst of at least 0 bytes; a debuginfo quota whole bytes.",
        "invalid_limits",
      );
    }
    const project = await this.store.setProjectLimits(actor.organizationId, projectId, limits);
    if (!project)
      throw notFound(`Project ${projectId} does not exist in this organization.`, "project_not_found");
    this.events.publish({ kind: "project-changed", projectId });
    await this.audit(actor.organizationId, actor, "project.update", "project", projectId, {
      limits: limits
        ? `${limits.bytesPerSecond ? `${limits.bytesPerSecond} B/s, burst ${limits.burstBytes} B` : "default rate"}; debuginfo ${limits.debuginfoBytes ? `${limits.debuginfoBytes} B` : "default"}`
        : "default",
    });
    return project;
  }

  /** Restricts where a service account's tokens may be used from; undefined or [] lifts it. */
  async setServiceAccountAllowedCidrs(
    actor: Actor,
    id: string,
    cidrs: string[] | undefined,
  ): Promise<ServiceAccount> {
    requirePermission(actor, "serviceaccount.update");
    const ranges = cidrs?.length ? cidrs.map(normalizeCidr) : undefined;
    const account = await this.store.setServiceAccountAllowedCidrs(actor.organizationId, id, ranges);
    if (!account)
      throw notFound(
        `Service account ${id} does not exist in this organization.`,
        "service_account_not_found",
      );
    this.events.publish({ kind: "service-account-changed", serviceAccountId: id });
    await this.audit(actor.organizationId, actor, "serviceaccount.update", "serviceaccount", id, {
      allowedCidrs: ranges?.join(",") ?? "any",
    });
    return account;
  }

  async createServiceAccount(
    actor: Actor,
    name: string,
    createdBy = actor.serviceAccountId,
  ): Promise<ServiceAccount> {
    requirePermission(actor, "serviceaccount.create");
    const account: ServiceAccount = {
      id: randomUUID(),
      name: validName("service account", name),
      organizationId: actor.organizationId,
      createdAt: this.now(),
      createdBy,
    };
    await this.store.createServiceAccount(account, this.quotas.serviceAccountsPerOrganization);
    await this.audit(actor.organizationId, actor, "serviceaccount.create", "serviceaccount", account.id, {
      name: account.name,
    });
    return account;
  }

  /** The organization's service accounts, each with its number of tokens. */
  async listServiceAccounts(actor: Actor): Promise<Array<ServiceAccount & { tokenCount: number }>> {
    requirePermission(actor, "serviceaccount.list");
    const accounts = await this.store.listServiceAccounts(actor.organizationId);
    return Promise.all(
      accounts.map(async (a) => ({
        ...a,
        tokenCount: await this.store.countTokens(actor.organizationId, a.id),
      })),
    );
  }

  async deleteServiceAccount(actor: Actor, id: string): Promise<ServiceAccount> {
    requirePermission(actor, "serviceaccount.delete");
    const deleted = await this.store.deleteServiceAccount(actor.organizationId, id, this.now());
    if (!deleted)
      throw notFound(
        `Service account ${id} does not exist in this organization.`,
        "service_account_not_found",
      );
    for (const token of deleted.tokens) this.events.publish({ kind: "token-deleted", tokenHash: token.hash });
    this.events.publish({ kind: "service-account-changed", serviceAccountId: id });
    await this.audit(actor.organizationId, actor, "serviceaccount.delete", "serviceaccount", id, {
      name: deleted.account.name,
      tokensDeleted: String(deleted.tokens.length),
    });
    return deleted.account;
  }

  /**
   * Creates a token from 32 random bytes, or, for the installation's bootstrap only, stores the
   * hash of a `provided` one (an operator's Secret); the API never passes one.
   */
  async createToken(
    actor: Actor,
    request: { serviceAccountId: string; name: string; expiresAt?: number },
    provided?: string,
  ): Promise<CreatedToken> {
    requirePermission(actor, "serviceaccounttoken.create");
    const now = this.now();
    if (request.expiresAt !== undefined && request.expiresAt <= now) {
      throw invalidArgument("A token's expiry must be in the future.", "invalid_expiry");
    }
    const { secret, hash } = provided === undefined ? generateToken() : providedToken(provided);
    const token: ServiceAccountToken = {
      id: randomUUID(),
      name: validName("token", request.name),
      serviceAccountId: request.serviceAccountId,
      organizationId: actor.organizationId,
      hash,
      createdAt: now,
      createdBy: actor.serviceAccountId,
      ...(request.expiresAt !== undefined ? { expiresAt: request.expiresAt } : {}),
    };
    await this.store.createToken(token, this.quotas.tokensPerServiceAccount);
    await this.audit(
      actor.organizationId,
      actor,
      "serviceaccounttoken.create",
      "serviceaccounttoken",
      token.id,
      {
        name: token.name,
        serviceAccountId: token.serviceAccountId,
      },
    );
    return { token, secret };
  }

  async listTokens(actor: Actor, serviceAccountId: string): Promise<ServiceAccountToken[]> {
    requirePermission(actor, "serviceaccounttoken.list");
    await this.requireServiceAccount(actor, serviceAccountId);
    return this.store.listTokens(actor.organizationId, serviceAccountId);
  }

  async deleteToken(actor: Actor, id: string): Promise<ServiceAccountToken> {
    requirePermission(actor, "serviceaccounttoken.delete");
    const token = await this.store.deleteToken(actor.organizationId, id, this.now());
    if (!token) throw notFound(`Token ${id} does not exist in this organization.`, "token_not_found");
    this.events.publish({ kind: "token-deleted", tokenHash: token.hash });
    await this.audit(actor.organizationId, actor, "serviceaccounttoken.delete", "serviceaccounttoken", id, {
      name: token.name,
      serviceAccountId: token.serviceAccountId,
    });
    return token;
  }

  async createRoleBinding(
    actor: Actor,
    request: { serviceAccountId: string; role: string; projectId?: string },
    createdBy = actor.serviceAccountId,
  ): Promise<RoleBinding> {
    requirePermission(actor, "rolebinding.create");
    if (!isRole(request.role)) {
      throw invalidArgument(
        `Unknown role ${JSON.stringify(request.role)}; use owner, viewer, writer, profile-writer or debuginfo-writer.`,
        "invalid_role",
      );
    }
    const binding: RoleBinding = {
      id: randomUUID(),
      serviceAccountId: request.serviceAccountId,
      organizationId: actor.organizationId,
      role: request.role,
      createdAt: this.now(),
      createdBy,
      ...(request.projectId ? { projectId: request.projectId } : {}),
    };
    await this.store.createRoleBinding(binding);
    this.events.publish({ kind: "service-account-changed", serviceAccountId: binding.serviceAccountId });
    await this.audit(actor.organizationId, actor, "rolebinding.create", "rolebinding", binding.id, {
      serviceAccountId: binding.serviceAccountId,
      role: binding.role,
      scope: binding.projectId ?? "organization",
    });
    return binding;
  }

  async listRoleBindings(actor: Actor, serviceAccountId?: string): Promise<RoleBinding[]> {
    requirePermission(actor, "rolebinding.list");
    return this.store.listRoleBindings(actor.organizationId, serviceAccountId);
  }

  async deleteRoleBinding(actor: Actor, id: string): Promise<RoleBinding> {
    requirePermission(actor, "rolebinding.delete");
    const binding = await this.store.deleteRoleBinding(actor.organizationId, id, this.now());
    if (!binding)
      throw notFound(`Role binding ${id} does not exist in this organization.`, "role_binding_not_found");
    this.events.publish({ kind: "service-account-changed", serviceAccountId: binding.serviceAccountId });
    await this.audit(actor.organizationId, actor, "rolebinding.delete", "rolebinding", id, {
      serviceAccountId: binding.serviceAccountId,
      role: binding.role,
      scope: binding.projectId ?? "organization",
    });
    return binding;
  }

  async listAudit(actor: Actor, limit: number): Promise<AuditEntry[]> {
    requirePermission(actor, "auditlog.list");
    const bounded = Math.min(Math.max(Math.trunc(limit) || 100, 1), 1000);
    return this.store.listAudit(actor.organizationId, bounded);
  }

  private async requireServiceAccount(actor: Actor, id: string): Promise<ServiceAccount> {
    const account = await this.store.getServiceAccount(actor.organizationId, id);
    if (!account)
      throw notFound(
        `Service account ${id} does not exist in this organization.`,
        "service_account_not_found",
      );
    return account;
  }

  private async audit(
    organizationId: string,
    actor: Actor | undefined,
    action: string,
    resourceType: string,
    resourceId: string,
    details: Record<string, string>,
  ): Promise<void> {
    await this.store.appendAudit({
      id: randomUUID(),
      organizationId,
      at: this.now(),
      actor: actor?.serviceAccountId ?? "",
      action,
      resourceType,
      resourceId,
      details,
    });
  }
}

function providedToken(secret: string): { secret: string; hash: string } {
  if (!isWellFormedToken(secret))
    throw invalidArgument("A provided token must be a psc_v1 token.", "malformed_token");
  return { secret, hash: hashToken(secret) };
}
