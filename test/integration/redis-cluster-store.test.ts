import { randomBytes, randomUUID } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceAccount } from "../../src/iam/model.js";
import { connectRedisStore } from "../../src/iam/store/redis/connect-redis-store.js";
import type { RedisIamStore } from "../../src/iam/store/redis/redis-iam-store.js";
import { generateToken } from "../../src/token/token.js";
import { iamStoreContract } from "../contract/iam-store-contract.js";
import { type RedisCluster, startRedisCluster } from "../support/redis-server.js";

let cluster: RedisCluster;
let admin: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  admin = new Cluster(cluster.nodes.map((node) => ({ host: "127.0.0.1", port: Number(node.split(":")[1]) })));
});
afterAll(async () => {
  admin?.disconnect();
  await cluster?.stop();
});

const newPrefix = () => `profgate-test-${randomBytes(6).toString("hex")}:`;
const connect = (keyPrefix: string) =>
  connectRedisStore({
    clusterNodes: cluster.nodes,
    keyPrefix,
    maxReconnectDelayMs: 200,
    connectTimeoutMs: 5000,
  });

/** The keys under `keyPrefix` on each master. */
async function keysByNode(keyPrefix: string): Promise<[Redis, string[]][]> {
  return Promise.all(
    admin.nodes("master").map(async (node): Promise<[Redis, string[]]> => {
      const keys: string[] = [];
      for await (const batch of node.scanStream({ match: `${keyPrefix}*`, count: 1000 })) {
        keys.push(...(batch as string[]));
      }
      return [node, keys];
    }),
  );
}

async function deleteKeys(keyPrefix: string): Promise<void> {
  // One key per command: a multi-key UNLINK would span slots.
  for (const [node, keys] of await keysByNode(keyPrefix))
    await Promise.all(keys.map((key) => node.unlink(key)));
}

iamStoreContract("redis cluster", {
  async open() {
    const keyPrefix = newPrefix();
    return {
      store: await connect(keyPrefix),
      reopen: () => connect(keyPrefix),
      cleanup: () => deleteKeys(keyPrefix),
    };
  },
});

const account = (organizationId: string, name = "sa"): ServiceAccount => ({
  id: randomUUID(),
  name,
  organizationId,
  createdAt: Date.now(),
  createdBy: "",
});

/** An organization with two owners (binding and token each), for the last-owner races. */
async function twoOwners(store: RedisIamStore, organizationId: string) {
  const owners = [];
  for (const name of ["a", "b"]) {
    const sa = account(organizationId, name);
    await store.createServiceAccount(sa, 50);
    const binding = {
      id: randomUUID(),
      serviceAccountId: sa.id,
      organizationId,
      role: "owner" as const,
      createdAt: 0,
      createdBy: "",
    };
    await store.createRoleBinding(binding);
    const token = {
      id: randomUUID(),
      name: "t",
      serviceAccountId: sa.id,
      organizationId,
      hash: generateToken().hash,
      createdAt: 0,
      createdBy: "",
    };
    await store.createToken(token, 100);
    owners.push({ sa, binding, token });
  }
  return owners as [(typeof owners)[0], (typeof owners)[0]];
}

describe("Redis IAM store on a Cluster", () => {
  it("holds the token quota with two connections racing: exactly 100 of 200", async () => {
    const keyPrefix = newPrefix();
    const stores = await Promise.all([connect(keyPrefix), connect(keyPrefix)]);
    const [a, b] = stores as [RedisIamStore, RedisIamStore];
    try {
      const sa = account(randomUUID());
      await a.createServiceAccount(sa, 50);
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 ? a : b).createToken(
            {
              id: randomUUID(),
              name: `t-${i}`,
              serviceAccountId: sa.id,
              organizationId: sa.organizationId,
              hash: generateToken().hash,
              createdAt: Date.now(),
              createdBy: "",
            },
            100,
          ),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled").length).toBe(100);
      expect(await b.countTokens(sa.organizationId, sa.id)).toBe(100);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    }
  });

  it("lets one of two connections racing create a service account name or a project name", async () => {
    const keyPrefix = newPrefix();
    const stores = await Promise.all([connect(keyPrefix), connect(keyPrefix)]);
    const [a, b] = stores as [RedisIamStore, RedisIamStore];
    try {
      const org = randomUUID();
      const accounts = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).createServiceAccount(account(org, "same"), 50)),
      );
      const projects = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).createProject({
            id: randomUUID(),
            name: "same",
            organizationId: org,
            createdAt: 0,
          }),
        ),
      );
      for (const results of [accounts, projects]) {
        expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
        const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        expect(refused.every((r) => r.reason.kind === "already_exists")).toBe(true);
      }
      expect((await b.listServiceAccounts(org)).length).toBe(1);
      expect((await a.listProjects(org)).length).toBe(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    }
  });

  it("keeps an owner when two connections delete the last two owners at once, in 20 organizations", async () => {
    const keyPrefix = newPrefix();
    const stores = await Promise.all([connect(keyPrefix), connect(keyPrefix)]);
    const [a, b] = stores as [RedisIamStore, RedisIamStore];
    try {
      const rounds = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const org = randomUUID();
          const [x, y] = await twoOwners(a, org);
          const results = await Promise.allSettled(
            i % 2
              ? [a.deleteRoleBinding(org, x.binding.id), b.deleteRoleBinding(org, y.binding.id)]
              : [a.deleteServiceAccount(org, x.sa.id), b.deleteToken(org, y.token.id)],
          );
          const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
          for (const r of refused)
            expect(r.reason).toMatchObject({ kind: "failed_precondition", reason: "last_owner" });
          const owners = (await b.listRoleBindings(org)).filter((binding) => binding.role === "owner");
          const tokens = await Promise.all(owners.map((o) => a.countTokens(org, o.serviceAccountId)));
          return {
            succeeded: results.length - refused.length,
            ownersWithTokens: tokens.filter((n) => n > 0).length,
          };
        }),
      );
      for (const round of rounds) expect(round).toEqual({ succeeded: 1, ownersWithTokens: 1 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    }
  });

  it("spreads organizations and indexes over the masters and finds everything back", async () => {
    const keyPrefix = newPrefix();
    const store = await connect(keyPrefix);
    try {
      const organizations = Array.from({ length: 12 }, (_, i) => ({
        id: randomUUID(),
        name: `o-${i}`,
        createdAt: i,
      }));
      const tokens = [];
      for (const organization of organizations) {
        await store.createOrganization(organization);
        const sa = account(organization.id);
        await store.createServiceAccount(sa, 50);
        const token = {
          id: randomUUID(),
          name: "t",
          serviceAccountId: sa.id,
          organizationId: organization.id,
          hash: generateToken().hash,
          createdAt: 0,
          createdBy: "",
        };
        await store.createToken(token, 100);
        tokens.push(token);
      }
      // One batch spanning every organization's slot, and a token no organization has.
      await store.recordTokenUses([
        ...tokens.map((t, i) => ({ tokenId: t.id, organizationId: t.organizationId, at: 1000 + i })),
        { tokenId: randomUUID(), organizationId: randomUUID(), at: 5 },
      ]);
      const used = (await keysByNode(keyPrefix)).filter(([, keys]) => keys.length > 0);
      expect(used.length).toBe(3);
      expect((await store.listOrganizations()).map((o) => o.name)).toEqual(organizations.map((o) => o.name));
      for (const [i, t] of tokens.entries()) {
        const principal = await store.resolvePrincipal(t.hash);
        expect(principal?.token).toEqual({ ...t, lastUsedAt: 1000 + i });
      }
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });
});
