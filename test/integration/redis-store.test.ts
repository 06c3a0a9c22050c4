import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceAccount, ServiceAccountToken } from "../../src/iam/model.js";
import { connectRedisStore } from "../../src/iam/store/redis/connect-redis-store.js";
import { RedisIamStore } from "../../src/iam/store/redis/redis-iam-store.js";
import { RedisKeys } from "../../src/iam/store/redis/redis-keys.js";
import { generateToken, TOKEN_PREFIX } from "../../src/token/token.js";
import { iamStoreContract } from "../contract/iam-store-contract.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { retryStrategy: () => 50 });
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

const newPrefix = () => `profgate-test-${randomBytes(6).toString("hex")}:`;
const connect = (keyPrefix: string) =>
  connectRedisStore({ url: server.url, keyPrefix, maxReconnectDelayMs: 100, connectTimeoutMs: 3000 });

async function keysOf(pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of admin.scanStream({ match: pattern, count: 1000 }))
    keys.push(...(batch as string[]));
  return keys;
}

async function deleteKeys(keyPrefix: string): Promise<void> {
  const keys = await keysOf(`${keyPrefix}*`);
  if (keys.length > 0) await admin.unlink(...keys);
}

/** Every value stored under the prefix, as text. */
async function valuesOf(keyPrefix: string): Promise<string[]> {
  const values: string[] = [];
  for (const key of await keysOf(`${keyPrefix}*`)) {
    const type = await admin.type(key);
    if (type === "string") values.push((await admin.get(key)) ?? "");
    if (type === "hash") values.push(...Object.entries(await admin.hgetall(key)).flat());
    if (type === "list") values.push(...(await admin.lrange(key, 0, -1)));
    if (type === "set") values.push(...(await admin.smembers(key)));
  }
  return values;
}

iamStoreContract("redis", {
  async open() {
    const keyPrefix = newPrefix();
    return {
      store: await connect(keyPrefix),
      reopen: () => connect(keyPrefix),
      cleanup: () => deleteKeys(keyPrefix),
    };
  },
});

const now = Date.now();
const account = (organizationId: string, name = "sa"): ServiceAccount => ({
  id: randomUUID(),
  name,
  organizationId,
  createdAt: now,
  createdBy: "",
});
const tokenOf = (sa: ServiceAccount, hash = generateToken().hash): ServiceAccountToken => ({
  id: randomUUID(),
  name: "t",
  serviceAccountId: sa.id,
  organizationId: sa.organizationId,
  hash,
  createdAt: now,
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

describe("Redis IAM store", () => {
  it("holds quotas across two connections racing: 100 of 200 tokens, 50 of 60 service accounts", async () => {
    const keyPrefix = newPrefix();
    const stores = await Promise.all([connect(keyPrefix), connect(keyPrefix)]);
    const [a, b] = stores as [RedisIamStore, RedisIamStore];
    try {
      const org = randomUUID();
      await a.createOrganization({ id: org, name: "race", createdAt: now });
      const sa = account(org);
      await a.createServiceAccount(sa, 50);
      const tokens = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).createToken(tokenOf(sa), 100)),
      );
      expect(tokens.filter((r) => r.status === "fulfilled").length).toBe(100);
      expect(await b.countTokens(org, sa.id)).toBe(100);
      expect((await a.listTokens(org, sa.id)).length).toBe(100);
      // The refused tokens left no index entry behind.
      expect((await keysOf(`${keyPrefix}token-hash:*`)).length).toBe(100);

      const other = randomUUID();
      const accounts = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? a : b).createServiceAccount(account(other, `sa-${i}`), 50),
        ),
      );
      expect(accounts.filter((r) => r.status === "fulfilled").length).toBe(50);
      const refused = accounts.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      expect(refused.every((r) => r.reason.kind === "resource_exhausted")).toBe(true);
      expect((await b.listServiceAccounts(other)).length).toBe(50);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    }
  });

  it("lets one of two replicas racing to bootstrap create the installation organization", async () => {
    const keyPrefix = newPrefix();
    const stores = await Promise.all([connect(keyPrefix), connect(keyPrefix)]);
    try {
      const results = await Promise.allSettled(
        stores.flatMap((store) =>
          [1, 2].map(() =>
            store.createOrganization({
              id: randomUUID(),
              name: "default",
              createdAt: now,
              installation: true,
            }),
          ),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
      for (const r of results.filter((r) => r.status === "rejected") as PromiseRejectedResult[]) {
        expect(r.reason).toMatchObject({ kind: "already_exists", reason: "installation_exists" });
      }
      await stores[0]!.createOrganization({ id: randomUUID(), name: "other", createdAt: now + 1 });
      expect((await stores[1]!.listOrganizations()).map((o) => [o.name, o.installation === true])).toEqual([
        ["default", true],
        ["other", false],
      ]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    }
  });

  it("writes only keys under its prefix, and no secret: a token is stored by its hash", async () => {
    const keyPrefix = newPrefix();
    const before = new Set(await keysOf("*"));
    const store = await connect(keyPrefix);
    try {
      const org = randomUUID();
      await store.createOrganization({ id: org, name: "o", createdAt: now });
      const project = { id: randomUUID(), name: "p", organizationId: org, createdAt: now };
      await store.createProject(project);
      const sa = account(org);
      await store.createServiceAccount(sa, 50);
      const generated = generateToken();
      const token = tokenOf(sa, generated.hash);
      await store.createToken(token, 100);
      await store.createRoleBinding({
        id: randomUUID(),
        serviceAccountId: sa.id,
        organizationId: org,
        projectId: project.id,
        role: "writer",
        createdAt: now,
        createdBy: "",
      });
      await store.recordTokenUses([{ tokenId: token.id, organizationId: org, at: now + 1 }]);
      await store.appendAudit({
        id: randomUUID(),
        organizationId: org,
        at: now,
        actor: sa.id,
        action: "serviceaccounttoken.create",
        resourceType: "serviceaccounttoken",
        resourceId: token.id,
      });
      const added = (await keysOf("*")).filter((key) => !before.has(key));
      expect(added.length).toBeGreaterThan(5);
      for (const key of added) expect(key.startsWith(keyPrefix)).toBe(true);
      const values = (await valuesOf(keyPrefix)).join("\n");
      expect(values).toContain(generated.hash);
      expect(values).not.toContain(generated.secret);
      expect(values).not.toContain(generated.secret.slice(TOKEN_PREFIX.length));
      expect(await keysOf(`${keyPrefix}token-hash:${generated.hash}`)).toHaveLength(1);
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });

  it("reads a dangling index entry as unknown, and a refused create leaves none", async () => {
    const keyPrefix = newPrefix();
    const keys = new RedisKeys(keyPrefix);
    const store = await connect(keyPrefix);
    try {
      const org = randomUUID();
      const sa = account(org);
      await store.createServiceAccount(sa, 50);
      const token = tokenOf(sa);
      await store.createToken(token, 100);
      expect((await store.resolvePrincipal(token.hash))?.token.id).toBe(token.id);
      await admin.hdel(keys.org(org).tokens, token.id);
      expect(await admin.exists(keys.tokenHash(token.hash))).toBe(1);
      expect(await store.resolvePrincipal(token.hash)).toBeUndefined();

      const orphan = tokenOf(account(org));
      await expect(store.createToken(orphan, 100)).rejects.toMatchObject({ kind: "not_found" });
      expect(await admin.exists(keys.tokenHash(orphan.hash))).toBe(0);
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });

  it("lets one of two connections racing create a name or a binding; a refused project leaves no index", async () => {
    const keyPrefix = newPrefix();
    const stores = await Promise.all([connect(keyPrefix), connect(keyPrefix)]);
    const [a, b] = stores as [RedisIamStore, RedisIamStore];
    try {
      const org = randomUUID();
      const sa = account(org, "holder");
      await a.createServiceAccount(sa, 50);
      const race = async (create: (store: RedisIamStore) => Promise<void>) => {
        const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => create(i % 2 ? a : b)));
        const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        expect(refused.every((r) => r.reason.kind === "already_exists")).toBe(true);
        return results.length - refused.length;
      };
      expect(await race((s) => s.createServiceAccount(account(org, "same"), 50))).toBe(1);
      const newProject = () => ({ id: randomUUID(), name: "same", organizationId: org, createdAt: now });
      expect(await race((s) => s.createProject(newProject()))).toBe(1);
      const grant = () => ({
        id: randomUUID(),
        serviceAccountId: sa.id,
        organizationId: org,
        role: "owner" as const,
        createdAt: now,
        createdBy: "",
      });
      expect(await race((s) => s.createRoleBinding(grant()))).toBe(1);
      expect((await b.listServiceAccounts(org)).map((x) => x.name).sort()).toEqual(["holder", "same"]);
      expect((await a.listProjects(org)).length).toBe(1);
      expect((await keysOf(`${keyPrefix}project:*`)).length).toBe(1);
      expect((await b.listRoleBindings(org, sa.id)).length).toBe(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    }
  });

  it("loads names and bindings repeated before they had to be unique, and refuses new repeats", async () => {
    const keyPrefix = newPrefix();
    const k = new RedisKeys(keyPrefix).org("legacy");
    const store = await connect(keyPrefix);
    try {
      const twins = [account("legacy", "dup"), account("legacy", "dup")];
      for (const twin of twins) await admin.hset(k.accounts, twin.id, JSON.stringify(twin));
      const grants = [0, 1].map(() => ({
        id: randomUUID(),
        serviceAccountId: twins[0]!.id,
        organizationId: "legacy",
        role: "writer",
        createdAt: now,
        createdBy: "",
      }));
      for (const grant of grants) await admin.hset(k.bindings, grant.id, JSON.stringify(grant));
      await admin.hset(k.accountBindings, twins[0]!.id, JSON.stringify(grants.map((g) => g.id)));

      expect((await store.listServiceAccounts("legacy")).map((x) => x.name)).toEqual(["dup", "dup"]);
      expect((await store.listRoleBindings("legacy", twins[0]!.id)).length).toBe(2);
      await expect(store.createServiceAccount(account("legacy", "dup"), 50)).rejects.toMatchObject({
        kind: "already_exists",
      });
      const again = { ...grants[0]!, id: randomUUID(), role: "writer" as const };
      await expect(store.createRoleBinding(again)).rejects.toMatchObject({ kind: "already_exists" });
      expect((await store.deleteRoleBinding("legacy", grants[0]!.id))?.id).toBe(grants[0]!.id);
      expect((await store.deleteServiceAccount("legacy", twins[1]!.id))?.account.id).toBe(twins[1]!.id);
      expect((await store.listServiceAccounts("legacy")).map((x) => x.id)).toEqual([twins[0]!.id]);
      expect((await store.listRoleBindings("legacy")).map((x) => x.id)).toEqual([grants[1]!.id]);
    } finally {
      await store.close();
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

  it("works on a client the caller owns, and leaves it open on close", async () => {
    const keyPrefix = newPrefix();
    const client = new Redis(server.url);
    const store = new RedisIamStore(client, { keyPrefix });
    try {
      await store.createOrganization({ id: "mine", name: "mine", createdAt: now });
      await store.close();
      expect(await client.exists(`${keyPrefix}{o:mine}:org`)).toBe(1);
    } finally {
      client.disconnect();
      await deleteKeys(keyPrefix);
    }
  });

  it("refuses to start, without showing the password, when Redis cannot be reached", async () => {
    const dead = `redis://:sekrit@127.0.0.1:${server.port + 1}`;
    const started = Date.now();
    const attempt = connectRedisStore({ url: dead, connectTimeoutMs: 300 });
    await expect(attempt).rejects.toThrow(/Could not connect to Redis at redis:\/\/127\.0\.0\.1/);
    await expect(attempt).rejects.not.toThrow(/sekrit/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("fails fast while Redis is down and works again once it is back, on the same store", async () => {
    const keyPrefix = newPrefix();
    const store = await connect(keyPrefix);
    const states: boolean[] = [];
    store.onAvailabilityChange((available) => states.push(available));
    try {
      await store.createOrganization({ id: "before", name: "before", createdAt: now });
      // A call already sent when Redis dies is not kept for a later connection either.
      await admin.call("CLIENT", "PAUSE", "5000", "ALL");
      const inFlight = store.getOrganization("before").then(
        () => undefined,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const killedAt = Date.now();
      await server.kill();
      expect(await inFlight).toMatchObject({ kind: "unavailable" });
      expect(Date.now() - killedAt).toBeLessThan(2000);
      for (const call of [
        () => store.getOrganization("before"),
        () => store.resolvePrincipal("0".repeat(64)),
      ]) {
        const started = Date.now();
        await expect(call()).rejects.toMatchObject({ kind: "unavailable", name: "DomainError" });
        expect(Date.now() - started).toBeLessThan(2000);
      }
      expect(states).toEqual([false]);
      expect(store.available).toBe(false);

      await server.restart();
      await expect
        .poll(
          () =>
            store.createOrganization({ id: "after", name: "after", createdAt: now }).then(
              () => true,
              () => false,
            ),
          {
            timeout: 5000,
            interval: 50,
          },
        )
        .toBe(true);
      expect((await store.getOrganization("after"))?.name).toBe("after");
      expect(states).toEqual([false, true]);
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });
});
