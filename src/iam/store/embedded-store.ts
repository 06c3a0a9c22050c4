import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { unavailable } from "../../errors.js";
import { writeFileAtomic } from "../../fs/atomic-file.js";
import type {
  AuditEntry,
  Organization,
  Project,
  ProjectLimits,
  RoleBinding,
  ServiceAccount,
  ServiceAccountToken,
} from "../model.js";
import { AUDIT_RETAINED, type EmbeddedState, emptyState, parseState } from "./embedded-state.js";
import type { IamStore, PrincipalRecord, TokenUse } from "./iam-store.js";
import { acquireDirectoryLock, type DirectoryLock } from "./directory-lock.js";
import { lastOwnerAccount, lastOwnerBinding, lastOwnerToken, takesLastOwner } from "./owner-guard.js";
import { installationExists, projectNotFound, quotaExceeded, serviceAccountNotFound } from "./quota-error.js";
import { projectNameTaken, roleBindingExists, sameGrant, serviceAccountNameTaken } from "./unique-names.js";

const values = <T>(record: Record<string, T>): T[] => Object.values(record);
const byCreation = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }) =>
  a.createdAt - b.createdAt || a.id.localeCompare(b.id);

/**
 * The default IAM store: all state in memory, persisted to `<dataDir>/iam.json` (mode 0600)
 * by atomic replacement after every change, so a crash never leaves a torn file. Changes are
 * applied in memory one at a time (quotas hold under any concurrency) and acknowledged once
 * written; concurrent changes share one write (group commit). One process per data dir,
 * enforced with a lock file.
 */
export class EmbeddedIamStore implements IamStore {
  private tokensByHash = new Map<string, string>();
  private pending: Promise<void> | undefined;
  private writing: Promise<void> | undefined;
  /** The state as last written durably: what a failed write returns to. */
  private committed: string;
  /** Bumped when a failed write rolled the state back: changes applied before it are gone. */
  private rollbacks = 0;

  private constructor(
    private readonly path: string,
    private state: EmbeddedState,
    private readonly lock: DirectoryLock,
    private readonly write: (path: string, text: string) => Promise<void>,
  ) {
    this.committed = JSON.stringify(state);
    this.index();
  }

  /**
   * Opens (or creates) the store of `dataDir`. `options.write` replaces the atomic file write,
   * for tests of failing disks.
   */
  static async open(
    dataDir: string,
    options: { write?: (path: string, text: string) => Promise<void> } = {},
  ): Promise<EmbeddedIamStore> {
    const lock = await acquireDirectoryLock(dataDir);
    const path = join(dataDir, "iam.json");
    let state: EmbeddedState;
    try {
      state = parseState(await readFile(path, "utf8"), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        await lock.release();
        throw error;
      }
      state = emptyState();
    }
    return new EmbeddedIamStore(path, state, lock, options.write ?? ((p, text) => writeFileAtomic(p, text)));
  }

  async createOrganization(organization: Organization): Promise<void> {
    await this.mutate((s) => {
      if (organization.installation && values(s.organizations).some((o) => o.installation)) {
        throw installationExists();
      }
      s.organizations[organization.id] = { ...organization };
    });
  }
  async getOrganization(id: string) {
    return copy(this.state.organizations[id]);
  }
  async listOrganizations() {
    return values(this.state.organizations)
      .sort(byCreation)
      .map((o) => ({ ...o }));
  }

  async createProject(project: Project): Promise<void> {
    await this.mutate((s) => {
      const taken = values(s.projects).find(
        (p) => p.organizationId === project.organizationId && p.name === project.name,
      );
      if (taken) throw projectNameTaken(project.name, taken.id);
      s.projects[project.id] = { ...project };
    });
  }
  async getProject(id: string) {
    return copy(this.state.projects[id]);
  }
  async listProjects(organizationId: string) {
    return this.inOrg(this.state.projects, organizationId);
  }
  async setProjectLimits(organizationId: string, id: string, limits: ProjectLimits | undefined) {
    return this.mutate((s) => {
      const project = s.projects[id];
      if (project?.organizationId !== organizationId) return undefined;
      if (limits) project.limits = { ...limits };
      else delete project.limits;
      return { ...project };
    });
  }
  async deleteProject(organizationId: string, id: string) {
    return this.mutate((s) => {
      const project = s.projects[id];
      if (project?.organizationId !== organizationId) return undefined;
      delete s.projects[id];
      for (const binding of values(s.roleBindings)) {
        if (binding.projectId === id) delete s.roleBindings[binding.id];
      }
      return project;
    });
  }

  async createServiceAccount(account: ServiceAccount, maxPerOrganization: number): Promise<void> {
    await this.mutate((s) => {
      const ofOrg = values(s.serviceAccounts).filter((a) => a.organizationId === account.organizationId);
      const taken = ofOrg.find((a) => a.name === account.name);
      if (taken) throw serviceAccountNameTaken(account.name, taken.id);
      if (ofOrg.length >= maxPerOrganization)
        throw quotaExceeded("service accounts per organization", maxPerOrganization);
      s.serviceAccounts[account.id] = { ...account };
    });
  }
  async getServiceAccount(organizationId: string, id: string) {
    const account = this.state.serviceAccounts[id];
    return account?.organizationId === organizationId ? { ...account } : undefined;
  }
  async listServiceAccounts(organizationId: string) {
    return this.inOrg(this.state.serviceAccounts, organizationId);
  }
  async setServiceAccountAllowedCidrs(organizationId: string, id: string, cidrs: string[] | undefined) {
    return this.mutate((s) => {
      const account = s.serviceAccounts[id];
      if (account?.organizationId !== organizationId) return undefined;
      if (cidrs) account.allowedCidrs = [...cidrs];
      else delete account.allowedCidrs;
      return { ...account };
    });
  }
  async deleteServiceAccount(organizationId: string, id: string, now = Date.now()) {
    return this.mutate((s) => {
      const account = s.serviceAccounts[id];
      if (account?.organizationId !== organizationId) return undefined;
      if (takesLastOwner(...ownership(s, organizationId), now, { serviceAccountId: id })) {
        throw lastOwnerAccount(id);
      }
      delete s.serviceAccounts[id];
      const tokens = values(s.tokens).filter((t) => t.serviceAccountId === id);
      for (const token of tokens) {
        delete s.tokens[token.id];
        this.tokensByHash.delete(token.hash);
      }
      for (const binding of values(s.roleBindings)) {
        if (binding.serviceAccountId === id) delete s.roleBindings[binding.id];
      }
      return { account, tokens };
    });
  }

  async createToken(token: ServiceAccountToken, maxPerServiceAccount: number): Promise<void> {
    await this.mutate((s) => {
      const account = s.serviceAccounts[token.serviceAccountId];
      if (account?.organizationId !== token.organizationId)
        throw serviceAccountNotFound(token.serviceAccountId);
      const used = values(s.tokens).filter((t) => t.serviceAccountId === token.serviceAccountId).length;
      if (used >= maxPerServiceAccount)
        throw quotaExceeded("tokens per service account", maxPerServiceAccount);
      s.tokens[token.id] = { ...token };
      this.tokensByHash.set(token.hash, token.id);
    });
  }
  async listTokens(organizationId: string, serviceAccountId: string) {
    return this.inOrg(this.state.tokens, organizationId).filter(
      (t) => t.serviceAccountId === serviceAccountId,
    );
  }
  async countTokens(organizationId: string, serviceAccountId: string) {
    return (await this.listTokens(organizationId, serviceAccountId)).length;
  }
  async deleteToken(organizationId: string, id: string, now = Date.now()) {
    return this.mutate((s) => {
      const token = s.tokens[id];
      if (token?.organizationId !== organizationId) return undefined;
      if (takesLastOwner(...ownership(s, organizationId), now, { tokenId: id })) throw lastOwnerToken(id);
      delete s.tokens[id];
      this.tokensByHash.delete(token.hash);
      return token;
    });
  }
  async resolvePrincipal(tokenHash: string): Promise<PrincipalRecord | undefined> {
    const token = this.state.tokens[this.tokensByHash.get(tokenHash) ?? ""];
    const account = token && this.state.serviceAccounts[token.serviceAccountId];
    if (!token || !account) return undefined;
    const bindings = values(this.state.roleBindings).filter((b) => b.serviceAccountId === account.id);
    return {
      token: { ...token },
      serviceAccount: { ...account },
      bindings: bindings.map((b) => ({ ...b })),
      installation: this.state.organizations[token.organizationId]?.installation === true,
    };
  }
  async recordTokenUses(uses: readonly TokenUse[]): Promise<void> {
    await this.mutate((s) => {
      for (const use of uses) {
        const token = s.tokens[use.tokenId];
        if (token && (token.lastUsedAt ?? 0) < use.at) token.lastUsedAt = use.at;
      }
    });
  }

  async createRoleBinding(binding: RoleBinding): Promise<void> {
    await this.mutate((s) => {
      const account = s.serviceAccounts[binding.serviceAccountId];
      if (account?.organizationId !== binding.organizationId)
        throw serviceAccountNotFound(binding.serviceAccountId);
      if (
        binding.projectId !== undefined &&
        s.projects[binding.projectId]?.organizationId !== binding.organizationId
      ) {
        throw projectNotFound(binding.projectId);
      }
      const taken = values(s.roleBindings).find((b) => sameGrant(b, binding));
      if (taken) throw roleBindingExists(binding, taken.id);
      s.roleBindings[binding.id] = { ...binding };
    });
  }
  async listRoleBindings(organizationId: string, serviceAccountId?: string) {
    return this.inOrg(this.state.roleBindings, organizationId).filter(
      (b) => serviceAccountId === undefined || b.serviceAccountId === serviceAccountId,
    );
  }
  async deleteRoleBinding(organizationId: string, id: string, now = Date.now()) {
    return this.mutate((s) => {
      const binding = s.roleBindings[id];
      if (binding?.organizationId !== organizationId) return undefined;
      if (takesLastOwner(...ownership(s, organizationId), now, { bindingId: id })) throw lastOwnerBinding(id);
      delete s.roleBindings[id];
      return binding;
    });
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.mutate((s) => {
      s.audit.push({ ...entry });
      const ofOrg = s.audit.filter((e) => e.organizationId === entry.organizationId);
      if (ofOrg.length > AUDIT_RETAINED) s.audit.splice(s.audit.indexOf(ofOrg[0]!), 1);
    });
  }
  async listAudit(organizationId: string, limit: number) {
    const entries = this.state.audit.filter((e) => e.organizationId === organizationId);
    return entries
      .slice(-limit)
      .reverse()
      .map((e) => ({ ...e }));
  }

  async close(): Promise<void> {
    await this.pending?.catch(() => {});
    await this.writing?.catch(() => {});
    await this.lock.release();
  }

  private inOrg<T extends { organizationId: string; createdAt: number; id: string }>(
    record: Record<string, T>,
    organizationId: string,
  ): T[] {
    return values(record)
      .filter((r) => r.organizationId === organizationId)
      .sort(byCreation)
      .map((r) => ({ ...r }));
  }

  /**
   * Applies `change` now (it throws before mutating when a rule fails) and resolves once durable.
   * When a write fails, the state returns to the last durable one and every change applied since
   * is refused, so nothing is acknowledged that a restart would not show.
   */
  private async mutate<T>(change: (state: EmbeddedState) => T): Promise<T> {
    const rollbacks = this.rollbacks;
    const result = change(this.state);
    await this.persist();
    if (this.rollbacks !== rollbacks) {
      throw unavailable(
        "The IAM store could not be written (disk full or failing); retry shortly.",
        "store_write_failed",
      );
    }
    return result;
  }

  private index(): void {
    this.tokensByHash = new Map(values(this.state.tokens).map((t) => [t.hash, t.id]));
  }

  private persist(): Promise<void> {
    if (this.pending) return this.pending;
    const run = async () => {
      await this.writing?.catch(() => {});
      this.pending = undefined;
      const text = JSON.stringify(this.state);
      const write = this.write(this.path, text);
      this.writing = write;
      try {
        await write;
        this.committed = text;
      } catch (error) {
        this.rollbacks++;
        this.state = parseState(this.committed, this.path);
        this.index();
        throw error;
      } finally {
        if (this.writing === write) this.writing = undefined;
      }
    };
    this.pending = run();
    return this.pending;
  }
}

/** The organization's bindings and tokens, as the last-owner guard reads them. */
function ownership(s: EmbeddedState, organizationId: string): [RoleBinding[], ServiceAccountToken[]] {
  const ofOrg = <T extends { organizationId: string }>(r: T) => r.organizationId === organizationId;
  return [values(s.roleBindings).filter(ofOrg), values(s.tokens).filter(ofOrg)];
}

function copy<T extends object>(value: T | undefined): T | undefined {
  return value ? { ...value } : undefined;
}
