import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decide } from "../../../src/auth/auth-decision.js";
import { headerCredentials } from "../../../src/edge/front-gate.js";
import { Authenticator } from "../../../src/auth/authenticator.js";
import type { Actor } from "../../../src/iam/actor.js";
import { IamEvents } from "../../../src/iam/iam-events.js";
import { IamService } from "../../../src/iam/iam-service.js";
import { EmbeddedIamStore } from "../../../src/iam/store/embedded-store.js";
import type { IamStore } from "../../../src/iam/store/iam-store.js";
import { generateToken, hashToken } from "../../../src/token/token.js";
import { tempDir } from "../../support/temp-dir.js";

/** The embedded store behind a switch that makes it unreachable, counting lookups. */
function flakyStore(inner: IamStore) {
  const state = { down: false, lookups: 0 };
  const guard = <T>(call: () => Promise<T>) => {
    state.lookups++;
    return state.down ? Promise.reject(new Error("connection refused")) : call();
  };
  const store: Pick<IamStore, "resolvePrincipal" | "getProject"> = {
    resolvePrincipal: (hash) => guard(() => inner.resolvePrincipal(hash)),
    getProject: (id) => guard(() => inner.getProject(id)),
  };
  return { store, state };
}

describe("Authenticator", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let inner: EmbeddedIamStore;
  let events: IamEvents;
  let iam: IamService;
  let owner: Actor;
  let projectId: string;
  let clock: number;

  beforeEach(async () => {
    dir = await tempDir();
    inner = await EmbeddedIamStore.open(dir.path);
    events = new IamEvents();
    clock = 1_000_000;
    iam = new IamService(inner, { events, now: () => clock });
    const created = await iam.createOrganization(undefined, "org");
    owner = {
      organizationId: created.organization.id,
      serviceAccountId: created.owner.id,
      grants: [{ role: "owner" }],
    };
    projectId = (await iam.createProject(owner, "p")).id;
  });
  afterEach(async () => {
    await inner.close();
    await dir.remove();
  });

  const newToken = async (role: "writer" | "viewer" = "writer", expiresAt?: number) => {
    const sa = await iam.createServiceAccount(owner, `sa-${Math.random()}`);
    await iam.createRoleBinding(owner, { serviceAccountId: sa.id, role, projectId });
    return (
      await iam.createToken(owner, {
        serviceAccountId: sa.id,
        name: "t",
        ...(expiresAt ? { expiresAt } : {}),
      })
    ).secret;
  };
  const make = (store: Pick<IamStore, "resolvePrincipal" | "getProject">) =>
    new Authenticator({
      store,
      events,
      now: () => clock,
      cache: { ttlMs: 30_000, negativeTtlMs: 60_000, staleWindowMs: 300_000 },
    });

  it("looks an unknown token up once per negative lifetime, however often it is tried", async () => {
    const { store, state } = flakyStore(inner);
    const auth = make(store);
    const junk = generateToken().secret;
    for (let i = 0; i < 100; i++)
      await expect(auth.principal(junk)).rejects.toMatchObject({ reason: "unknown_token" });
    expect(state.lookups).toBe(1);
    clock += 60_001;
    await expect(auth.principal(junk)).rejects.toMatchObject({ kind: "unauthenticated" });
    expect(state.lookups).toBe(2);
  });

  it("shares one lookup among concurrent misses for the same token", async () => {
    const { store, state } = flakyStore(inner);
    const auth = make(store);
    const token = await newToken();
    const principals = await Promise.all(Array.from({ length: 50 }, () => auth.principal(token)));
    expect(new Set(principals.map((p) => p.tokenId)).size).toBe(1);
    expect(state.lookups).toBe(1); // the token with its organization, in one lookup
  });

  it("a cold call looks its project up while its token is being resolved, not after", async () => {
    let release: () => void = () => {};
    const resolving = new Promise<void>((r) => {
      release = r;
    });
    const order: string[] = [];
    const store: Pick<IamStore, "resolvePrincipal" | "getProject"> = {
      resolvePrincipal: async (hash) => {
        order.push("principal asked");
        await resolving;
        order.push("principal answered");
        return inner.resolvePrincipal(hash);
      },
      getProject: async (id) => {
        order.push("project asked");
        return inner.getProject(id);
      },
    };
    const headers = { authorization: `Bearer ${await newToken()}`, projectid: projectId };
    const decision = decide(
      { authenticator: make(store) },
      { permission: "profile.write", project: true },
      headerCredentials(headers),
      "127.0.0.1:40000",
    );
    await new Promise((r) => setImmediate(r));
    release();
    expect(await decision).toMatchObject({ organizationId: owner.organizationId, projectId });
    expect(order.slice(0, 2).sort()).toEqual(["principal asked", "project asked"]);
    expect(order[2]).toBe("principal answered");
  });

  it("decides a call whose token and project are cached at once, without a promise", async () => {
    const auth = make(inner);
    const call = (token: string) => {
      const headers = { authorization: `Bearer ${token}`, projectid: projectId };
      return () =>
        decide(
          { authenticator: auth },
          { permission: "profile.write", project: true },
          headerCredentials(headers),
          "127.0.0.1:1",
        );
    };
    const known = call(await newToken());
    const first = known();
    expect(first).toBeInstanceOf(Promise);
    const context = await first;
    const again = known();
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toEqual(context);
    // A token cached as unknown is refused at once, too.
    const junk = call(generateToken().secret);
    await expect(junk()).rejects.toMatchObject({ reason: "unknown_token" });
    expect(junk).toThrow(expect.objectContaining({ reason: "unknown_token" }));
    // A viewer's cached principal is still refused the write, at once.
    const viewer = call(await newToken("viewer"));
    await expect(viewer()).rejects.toMatchObject({ kind: "permission_denied" });
    expect(viewer).toThrow(expect.objectContaining({ kind: "permission_denied" }));
  });

  it("refuses a deleted token on the very next call", async () => {
    const auth = make(inner);
    const token = await newToken();
    const principal = await auth.principal(token);
    await iam.deleteToken(owner, principal.tokenId);
    await expect(auth.principal(token)).rejects.toMatchObject({ reason: "unknown_token" });
  });

  it("narrows access on the next call when a binding is deleted, and widens it when one is created", async () => {
    const auth = make(inner);
    const token = await newToken("viewer");
    const principal = await auth.principal(token);
    await expect(auth.authorize(principal, "profile.write", projectId)).rejects.toMatchObject({
      kind: "permission_denied",
    });
    const binding = await iam.createRoleBinding(owner, {
      serviceAccountId: principal.serviceAccountId,
      role: "writer",
    });
    await auth.authorize(await auth.principal(token), "profile.write", projectId);
    await iam.deleteRoleBinding(owner, binding.id);
    await expect(
      auth.authorize(await auth.principal(token), "profile.write", projectId),
    ).rejects.toMatchObject({
      kind: "permission_denied",
    });
  });

  it("refuses an expired token saying so", async () => {
    const auth = make(inner);
    const token = await newToken("writer", clock + 1000);
    await auth.principal(token);
    clock += 1001;
    await expect(auth.principal(token)).rejects.toMatchObject({
      kind: "unauthenticated",
      reason: "expired_token",
    });
  });

  it("keeps verified principals working within the stale window while the store is down, never failing open", async () => {
    const { store, state } = flakyStore(inner);
    const auth = make(store);
    const token = await newToken();
    const principal = await auth.principal(token);
    await auth.authorize(principal, "profile.write", projectId);
    state.down = true;
    clock += 60_000; // past the cache lifetime, within the stale window
    expect((await auth.principal(token)).tokenId).toBe(principal.tokenId);
    await auth.authorize(principal, "profile.write", projectId);
    await expect(auth.principal(generateToken().secret)).rejects.toMatchObject({ kind: "unavailable" });
    clock += 300_000; // past the stale window
    await expect(auth.principal(token)).rejects.toMatchObject({ kind: "unavailable" });
    state.down = false;
    expect((await auth.principal(token)).tokenId).toBe(principal.tokenId);
  });

  it("re-reads everything after missed changes, yet keeps serving verified principals while the store is down", async () => {
    const { store, state } = flakyStore(inner);
    const auth = make(store);
    const token = await newToken();
    const principal = await auth.principal(token);
    await auth.authorize(principal, "profile.write", projectId);
    const lookups = state.lookups;
    events.publish({ kind: "everything" }, "remote");
    await auth.principal(token);
    expect(state.lookups).toBe(lookups + 1);
    state.down = true;
    events.publish({ kind: "everything" }, "remote");
    expect((await auth.principal(token)).tokenId).toBe(principal.tokenId);
    await auth.authorize(principal, "profile.write", projectId);
  });

  it("does not cache a lookup that raced an invalidation", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = true;
    const slow: Pick<IamStore, "resolvePrincipal" | "getProject"> = {
      resolvePrincipal: async (hash) => {
        const record = await inner.resolvePrincipal(hash);
        if (held) await gate;
        return record;
      },
      getProject: (id) => inner.getProject(id),
    };
    const auth = make(slow);
    const token = await newToken();
    const record = await inner.resolvePrincipal(hashToken(token));
    const pending = auth.principal(token);
    await new Promise((r) => setTimeout(r, 20));
    await iam.deleteToken(owner, record!.token.id);
    release();
    await pending;
    held = false;
    await expect(auth.principal(token)).rejects.toMatchObject({ reason: "unknown_token" });
  });
});
