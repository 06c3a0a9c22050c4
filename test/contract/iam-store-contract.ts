import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Project, RoleBinding, ServiceAccount, ServiceAccountToken } from "../../src/iam/model.js";
import type { IamStore } from "../../src/iam/store/iam-store.js";
import { generateToken } from "../../src/token/token.js";

/** Opens a fresh, empty store; `reopen` opens the same data again (a restart). */
export interface StoreFactory {
  open(): Promise<{ store: IamStore; reopen(): Promise<IamStore>; cleanup(): Promise<void> }>;
}

const now = Date.now();
const org = (name = "org") => ({ id: randomUUID(), name, createdAt: now });
const account = (organizationId: string, name = "sa"): ServiceAccount => ({
  id: randomUUID(),
  name,
  organizationId,
  createdAt: now,
  createdBy: "",
});
const token = (sa: ServiceAccount, name = "t"): ServiceAccountToken => ({
  id: randomUUID(),
  name,
  serviceAccountId: sa.id,
  organizationId: sa.organizationId,
  hash: generateToken().hash,
  createdAt: now,
  createdBy: "",
});
const project = (organizationId: string, name = "p"): Project => ({
  id: randomUUID(),
  name,
  organizationId,
  createdAt: now,
});
const binding = (sa: ServiceAccount, role: RoleBinding["role"], projectId?: string): RoleBinding => ({
  id: randomUUID(),
  serviceAccountId: sa.id,
  organizationId: sa.organizationId,
  role,
  createdAt: now,
  createdBy: "",
  ...(projectId ? { projectId } : {}),
});

/** The behaviour every IamStore shares, run unchanged against each implementation. */
export function iamStoreContract(name: string, factory: StoreFactory): void {
  describe(`IamStore contract: ${name}`, () => {
    const withStore =
      (test: (store: IamStore, reopen: () => Promise<IamStore>) => Promise<void>) => async () => {
        const { store, reopen, cleanup } = await factory.open();
        try {
          await test(store, reopen);
        } finally {
          await store.close().catch(() => {});
          await cleanup();
        }
      };

    it(
      "keeps organizations apart",
      withStore(async (store) => {
        const a = org("a");
        const b = org("b");
        await store.createOrganization(a);
        await store.createOrganization(b);
        const saA = account(a.id);
        await store.createServiceAccount(saA, 50);
        const project = { id: randomUUID(), name: "p", organizationId: a.id, createdAt: now };
        await store.createProject(project);
        expect((await store.listServiceAccounts(b.id)).length).toBe(0);
        expect(await store.getServiceAccount(b.id, saA.id)).toBeUndefined();
        expect(await store.deleteServiceAccount(b.id, saA.id)).toBeUndefined();
        expect(await store.deleteProject(b.id, project.id)).toBeUndefined();
        expect((await store.listProjects(a.id)).map((p) => p.id)).toEqual([project.id]);
        expect((await store.listOrganizations()).map((o) => o.name).sort()).toEqual(["a", "b"]);
      }),
    );

    it(
      "creates exactly 50 of 60 concurrent service accounts",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const results = await Promise.allSettled(
          Array.from({ length: 60 }, (_, i) => store.createServiceAccount(account(o.id, `sa-${i}`), 50)),
        );
        expect(results.filter((r) => r.status === "fulfilled").length).toBe(50);
        const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        expect(refused.length).toBe(10);
        for (const r of refused) {
          expect(r.reason.kind).toBe("resource_exhausted");
          expect(r.reason.message).toContain("50 service accounts per organization");
        }
        expect((await store.listServiceAccounts(o.id)).length).toBe(50);
      }),
    );

    it(
      "creates exactly 100 of 200 concurrent tokens for one service account",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const sa = account(o.id);
        await store.createServiceAccount(sa, 50);
        const results = await Promise.allSettled(
          Array.from({ length: 200 }, () => store.createToken(token(sa), 100)),
        );
        expect(results.filter((r) => r.status === "fulfilled").length).toBe(100);
        expect(await store.countTokens(o.id, sa.id)).toBe(100);
        const reason = (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason;
        expect(reason.message).toContain("100 tokens per service account");
      }),
    );

    it(
      "refuses a repeated project or service account name and a repeated binding, naming the existing one",
      withStore(async (store) => {
        const o = org();
        const other = org("other");
        await store.createOrganization(o);
        await store.createOrganization(other);
        const prod = project(o.id, "prod");
        await store.createProject(prod);
        await expect(store.createProject(project(o.id, "prod"))).rejects.toMatchObject({
          kind: "already_exists",
          reason: "project_name_taken",
          message: `A project named "prod" already exists in this organization (${prod.id}); choose another name.`,
        });
        // Exact, case-sensitive names, per organization.
        await store.createProject(project(o.id, "Prod"));
        await store.createProject(project(other.id, "prod"));
        expect((await store.listProjects(o.id)).map((p) => p.name).sort()).toEqual(["Prod", "prod"]);

        const ci = account(o.id, "ci");
        await store.createServiceAccount(ci, 50);
        await expect(store.createServiceAccount(account(o.id, "ci"), 50)).rejects.toMatchObject({
          kind: "already_exists",
          reason: "service_account_name_taken",
          message: `A service account named "ci" already exists in this organization (${ci.id}); choose another name.`,
        });
        await store.createServiceAccount(account(o.id, "CI"), 50);
        await store.createServiceAccount(account(other.id, "ci"), 50);
        expect((await store.listServiceAccounts(o.id)).map((a) => a.name).sort()).toEqual(["CI", "ci"]);

        const orgWide = binding(ci, "writer");
        await store.createRoleBinding(orgWide);
        await expect(store.createRoleBinding(binding(ci, "writer"))).rejects.toMatchObject({
          kind: "already_exists",
          reason: "role_binding_exists",
          message: `Service account ${ci.id} already has role writer organization-wide (role binding ${orgWide.id}); there is nothing to add.`,
        });
        const inProd = binding(ci, "writer", prod.id);
        await store.createRoleBinding(inProd);
        await expect(store.createRoleBinding(binding(ci, "writer", prod.id))).rejects.toMatchObject({
          kind: "already_exists",
          message: expect.stringContaining(`on project ${prod.id} (role binding ${inProd.id})`),
        });
        await store.createRoleBinding(binding(ci, "viewer", prod.id));
        expect((await store.listRoleBindings(o.id, ci.id)).length).toBe(3);

        // A name or a grant is free again once its holder is deleted.
        await store.deleteRoleBinding(o.id, orgWide.id);
        await store.createRoleBinding(binding(ci, "writer"));
        await store.deleteProject(o.id, prod.id);
        await store.createProject(project(o.id, "prod"));
        await store.deleteServiceAccount(o.id, ci.id);
        await store.createServiceAccount(account(o.id, "ci"), 50);
      }),
    );

    it(
      "creates exactly one of 20 concurrent projects, service accounts or bindings that are the same",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const sa = account(o.id, "holder");
        await store.createServiceAccount(sa, 50);
        const p = project(o.id, "p");
        await store.createProject(p);
        const race = async (create: () => Promise<void>, reason: string) => {
          const results = await Promise.allSettled(Array.from({ length: 20 }, create));
          const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
          expect(results.length - refused.length).toBe(1);
          for (const r of refused) expect(r.reason).toMatchObject({ kind: "already_exists", reason });
        };
        await race(() => store.createProject(project(o.id, "same")), "project_name_taken");
        await race(() => store.createServiceAccount(account(o.id, "same"), 50), "service_account_name_taken");
        await race(() => store.createRoleBinding(binding(sa, "owner")), "role_binding_exists");
        await race(() => store.createRoleBinding(binding(sa, "writer", p.id)), "role_binding_exists");
        expect((await store.listProjects(o.id)).filter((x) => x.name === "same").length).toBe(1);
        expect((await store.listServiceAccounts(o.id)).filter((x) => x.name === "same").length).toBe(1);
        expect((await store.listRoleBindings(o.id, sa.id)).length).toBe(2);
      }),
    );

    it(
      "resolves a token by hash to its service account and bindings, and forgets it when deleted",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const sa = account(o.id);
        await store.createServiceAccount(sa, 50);
        const project = { id: randomUUID(), name: "p", organizationId: o.id, createdAt: now };
        await store.createProject(project);
        const t = token(sa);
        await store.createToken(t, 100);
        const b = binding(sa, "writer", project.id);
        await store.createRoleBinding(b);
        const principal = await store.resolvePrincipal(t.hash);
        expect(principal?.serviceAccount.id).toBe(sa.id);
        expect(principal?.token.id).toBe(t.id);
        expect(principal?.bindings.map((x) => [x.role, x.projectId])).toEqual([["writer", project.id]]);
        expect(principal?.installation).toBe(false);
        // The installation's own organization is told apart in the same lookup.
        const home = { ...org("installation"), installation: true };
        await store.createOrganization(home);
        const admin = account(home.id);
        await store.createServiceAccount(admin, 50);
        const adminToken = token(admin);
        await store.createToken(adminToken, 100);
        expect((await store.resolvePrincipal(adminToken.hash))?.installation).toBe(true);
        expect(await store.resolvePrincipal(generateToken().hash)).toBeUndefined();
        expect((await store.deleteToken(o.id, t.id))?.hash).toBe(t.hash);
        expect(await store.resolvePrincipal(t.hash)).toBeUndefined();
      }),
    );

    it(
      "cascades: a deleted service account takes its tokens and bindings, a deleted project its bindings",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const sa = account(o.id);
        const other = account(o.id, "other");
        await store.createServiceAccount(sa, 50);
        await store.createServiceAccount(other, 50);
        const project = { id: randomUUID(), name: "p", organizationId: o.id, createdAt: now };
        await store.createProject(project);
        const t1 = token(sa);
        const t2 = token(sa);
        await store.createToken(t1, 100);
        await store.createToken(t2, 100);
        await store.createRoleBinding(binding(sa, "owner"));
        // Another owner who can authenticate, so that the organization keeps one.
        const keeper = account(o.id, "keeper");
        await store.createServiceAccount(keeper, 50);
        await store.createToken(token(keeper), 100);
        await store.createRoleBinding(binding(keeper, "owner"));
        await store.createRoleBinding(binding(other, "writer", project.id));
        await store.createRoleBinding(binding(other, "viewer"));
        const deleted = await store.deleteServiceAccount(o.id, sa.id);
        expect(deleted?.tokens.map((t) => t.id).sort()).toEqual([t1.id, t2.id].sort());
        expect(await store.resolvePrincipal(t1.hash)).toBeUndefined();
        expect((await store.listRoleBindings(o.id, sa.id)).length).toBe(0);
        expect(await store.deleteProject(o.id, project.id)).toMatchObject({ id: project.id });
        expect((await store.listRoleBindings(o.id)).map((b) => b.role).sort()).toEqual(["owner", "viewer"]);
        await expect(store.createToken(token(sa), 100)).rejects.toMatchObject({ kind: "not_found" });
        await expect(store.createRoleBinding(binding(other, "writer", project.id))).rejects.toMatchObject({
          kind: "not_found",
        });
      }),
    );

    it(
      "refuses to delete the last owner who can authenticate: its binding, its account or its last token",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const a = account(o.id, "a");
        await store.createServiceAccount(a, 50);
        const ownerA = binding(a, "owner");
        await store.createRoleBinding(ownerA);
        const tokenA = token(a);
        await store.createToken(tokenA, 100);
        const refused = { kind: "failed_precondition", reason: "last_owner" };
        await expect(store.deleteRoleBinding(o.id, ownerA.id)).rejects.toMatchObject({
          ...refused,
          message: `Deleting role binding ${ownerA.id} would leave this organization without an owner who can authenticate; bind another service account that has a token as owner first.`,
        });
        await expect(store.deleteServiceAccount(o.id, a.id)).rejects.toMatchObject({
          ...refused,
          message: expect.stringMatching(/^Deleting service account .* bind another service account/),
        });
        await expect(store.deleteToken(o.id, tokenA.id)).rejects.toMatchObject({
          ...refused,
          message: expect.stringContaining("create another token for its service account"),
        });
        expect((await store.listRoleBindings(o.id)).map((b) => b.id)).toEqual([ownerA.id]);
        expect((await store.resolvePrincipal(tokenA.hash))?.token.id).toBe(tokenA.id);

        // What does not change who can authenticate as owner is never refused.
        const p = project(o.id);
        await store.createProject(p);
        const scoped = binding(a, "owner", p.id);
        await store.createRoleBinding(scoped);
        const viewer = binding(a, "viewer");
        await store.createRoleBinding(viewer);
        expect((await store.deleteRoleBinding(o.id, scoped.id))?.id).toBe(scoped.id);
        expect((await store.deleteRoleBinding(o.id, viewer.id))?.id).toBe(viewer.id);
        const expired = { ...token(a), expiresAt: now - 1 };
        await store.createToken(expired, 100);
        expect((await store.deleteToken(o.id, expired.id, now))?.id).toBe(expired.id);

        // A second token: the first may go, then the second is the last.
        const second = token(a);
        await store.createToken(second, 100);
        expect((await store.deleteToken(o.id, tokenA.id))?.id).toBe(tokenA.id);
        await expect(store.deleteToken(o.id, second.id)).rejects.toMatchObject(refused);

        // Another owner counts only while it has a token that has not expired.
        const b = account(o.id, "b");
        await store.createServiceAccount(b, 50);
        await store.createRoleBinding(binding(b, "owner"));
        await expect(store.deleteRoleBinding(o.id, ownerA.id)).rejects.toMatchObject(refused);
        const tokenB = { ...token(b), expiresAt: now + 60_000 };
        await store.createToken(tokenB, 100);
        await expect(store.deleteRoleBinding(o.id, ownerA.id, now + 60_000)).rejects.toMatchObject(refused);
        expect((await store.deleteRoleBinding(o.id, ownerA.id, now))?.id).toBe(ownerA.id);
        expect((await store.deleteServiceAccount(o.id, a.id, now))?.account.id).toBe(a.id);
        await expect(store.deleteServiceAccount(o.id, b.id, now)).rejects.toMatchObject(refused);

        // Once no owner can authenticate (B's token expired), deleting changes nothing and is allowed.
        expect((await store.deleteToken(o.id, tokenB.id, now + 60_000))?.id).toBe(tokenB.id);
      }),
    );

    it(
      "lets exactly one of concurrent deletes of the last two owners succeed",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const owner = async (name: string) => {
          const sa = account(o.id, name);
          await store.createServiceAccount(sa, 50);
          const b = binding(sa, "owner");
          await store.createRoleBinding(b);
          const t = token(sa);
          await store.createToken(t, 100);
          return { sa, binding: b, token: t };
        };
        const outcome = async (deletes: Promise<unknown>[]) => {
          const results = await Promise.allSettled(deletes);
          const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
          for (const r of refused) expect(r.reason).toMatchObject({ kind: "failed_precondition" });
          return results.length - refused.length;
        };
        const [a, b] = [await owner("a"), await owner("b")];
        expect(
          await outcome([
            store.deleteRoleBinding(o.id, a.binding.id),
            store.deleteRoleBinding(o.id, b.binding.id),
          ]),
        ).toBe(1);
        expect((await store.listRoleBindings(o.id)).filter((x) => x.role === "owner").length).toBe(1);

        const [c, d] = [await owner("c"), await owner("d")];
        await Promise.allSettled([a, b].map((x) => store.deleteServiceAccount(o.id, x.sa.id)));
        expect(
          await outcome([store.deleteServiceAccount(o.id, c.sa.id), store.deleteToken(o.id, d.token.id)]),
        ).toBe(1);

        const many = await Promise.all(["e", "f", "g", "h", "i", "j"].map(owner));
        await Promise.allSettled([c, d].map((x) => store.deleteServiceAccount(o.id, x.sa.id)));
        const left = (await store.listRoleBindings(o.id)).filter((x) => x.role === "owner").length;
        expect(await outcome(many.map((x) => store.deleteRoleBinding(o.id, x.binding.id)))).toBe(left - 1);
        expect((await store.listRoleBindings(o.id)).filter((x) => x.role === "owner").length).toBe(1);
      }),
    );

    it(
      "sets and clears project limits and service-account CIDR ranges, only within the organization",
      withStore(async (store) => {
        const o = org();
        const other = org("other");
        await store.createOrganization(o);
        await store.createOrganization(other);
        const project = { id: randomUUID(), name: "p", organizationId: o.id, createdAt: now };
        await store.createProject(project);
        const limits = { bytesPerSecond: 1_048_576, burstBytes: 4_194_304 };
        expect(await store.setProjectLimits(other.id, project.id, limits)).toBeUndefined();
        expect((await store.setProjectLimits(o.id, project.id, limits))?.limits).toEqual(limits);
        expect((await store.getProject(project.id))?.limits).toEqual(limits);
        expect((await store.setProjectLimits(o.id, project.id, undefined))?.limits).toBeUndefined();
        expect(await store.getProject(project.id)).toEqual(project);

        const sa = account(o.id);
        await store.createServiceAccount(sa, 50);
        const t = token(sa);
        await store.createToken(t, 100);
        const cidrs = ["10.0.0.0/8", "2001:db8::/32"];
        expect(await store.setServiceAccountAllowedCidrs(other.id, sa.id, cidrs)).toBeUndefined();
        expect((await store.setServiceAccountAllowedCidrs(o.id, sa.id, cidrs))?.allowedCidrs).toEqual(cidrs);
        expect((await store.resolvePrincipal(t.hash))?.serviceAccount.allowedCidrs).toEqual(cidrs);
        await store.setServiceAccountAllowedCidrs(o.id, sa.id, undefined);
        expect((await store.resolvePrincipal(t.hash))?.serviceAccount.allowedCidrs).toBeUndefined();
      }),
    );

    it(
      "records last-used dates in batches, never moving them back",
      withStore(async (store) => {
        const o = org();
        await store.createOrganization(o);
        const sa = account(o.id);
        await store.createServiceAccount(sa, 50);
        const t = token(sa);
        await store.createToken(t, 100);
        await store.recordTokenUses([{ tokenId: t.id, organizationId: o.id, at: now + 5000 }]);
        await store.recordTokenUses([
          { tokenId: t.id, organizationId: o.id, at: now + 1000 },
          { tokenId: randomUUID(), organizationId: o.id, at: now },
        ]);
        expect((await store.listTokens(o.id, sa.id))[0]?.lastUsedAt).toBe(now + 5000);
      }),
    );

    it(
      "lists the audit trail newest first, per organization",
      withStore(async (store) => {
        const a = org();
        const b = org();
        for (const [i, o] of [a, a, b, a].entries()) {
          await store.appendAudit({
            id: randomUUID(),
            organizationId: o.id,
            at: now + i,
            actor: "x",
            action: `act-${i}`,
            resourceType: "serviceaccount",
            resourceId: "r",
          });
        }
        expect((await store.listAudit(a.id, 10)).map((e) => e.action)).toEqual(["act-3", "act-1", "act-0"]);
        expect((await store.listAudit(a.id, 2)).map((e) => e.action)).toEqual(["act-3", "act-1"]);
      }),
    );

    it(
      "keeps everything across a restart",
      withStore(async (store, reopen) => {
        const o = org();
        await store.createOrganization(o);
        const sa = account(o.id);
        await store.createServiceAccount(sa, 50);
        const t = token(sa);
        await store.createToken(t, 100);
        await store.createRoleBinding(binding(sa, "viewer"));
        await store.close();
        const again = await reopen();
        try {
          expect((await again.resolvePrincipal(t.hash))?.bindings[0]?.role).toBe("viewer");
          expect((await again.listServiceAccounts(o.id)).length).toBe(1);
        } finally {
          await again.close();
        }
      }),
    );
  });
}
