import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbeddedIamStore } from "../../../src/iam/store/embedded-store.js";
import { iamStoreContract } from "../../contract/iam-store-contract.js";
import { tempDir } from "../../support/temp-dir.js";

iamStoreContract("embedded", {
  async open() {
    const dir = await tempDir();
    return {
      store: await EmbeddedIamStore.open(dir.path),
      reopen: () => EmbeddedIamStore.open(dir.path),
      cleanup: dir.remove,
    };
  },
});

describe("embedded store files", () => {
  it("writes iam.json with mode 0600 and never leaves a temporary file behind", async () => {
    const dir = await tempDir();
    const store = await EmbeddedIamStore.open(dir.path);
    await store.createOrganization({ id: "o", name: "o", createdAt: 1 });
    await store.close();
    expect((await stat(join(dir.path, "iam.json"))).mode & 0o777).toBe(0o600);
    const text = await readFile(join(dir.path, "iam.json"), "utf8");
    expect(JSON.parse(text).organizations.o.name).toBe("o");
    await dir.remove();
  });

  it("refuses a second process on the same data dir while the first holds it", async () => {
    const dir = await tempDir();
    await writeFile(join(dir.path, "profgate.lock"), `${hostname()} ${process.ppid}\n`);
    await expect(EmbeddedIamStore.open(dir.path)).rejects.toThrow(/in use by another profgate process/);
    await writeFile(join(dir.path, "profgate.lock"), "other-container 1\n");
    await expect(EmbeddedIamStore.open(dir.path)).rejects.toThrow(/other-container pid 1/);
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir.path, "profgate.lock"), old, old);
    const taken = await EmbeddedIamStore.open(dir.path);
    await taken.close();
    await writeFile(join(dir.path, "profgate.lock"), `${hostname()} 999999999\n`);
    const store = await EmbeddedIamStore.open(dir.path);
    await store.close();
    await dir.remove();
  });
});

describe("embedded store with data from before names were unique", () => {
  it("loads repeated names and bindings, refuses new repeats, and deletes the old ones", async () => {
    const dir = await tempDir();
    const sa = (id: string) => ({ id, name: "dup", organizationId: "o", createdAt: 1, createdBy: "" });
    const writer = (id: string) => ({
      id,
      serviceAccountId: "a",
      organizationId: "o",
      role: "writer",
      createdAt: 1,
      createdBy: "",
    });
    const project = (id: string) => ({ id, name: "p", organizationId: "o", createdAt: 1 });
    await writeFile(
      join(dir.path, "iam.json"),
      JSON.stringify({
        version: 1,
        organizations: { o: { id: "o", name: "o", createdAt: 1 } },
        projects: { p1: project("p1"), p2: project("p2") },
        serviceAccounts: { a: sa("a"), b: sa("b") },
        tokens: {},
        roleBindings: { w1: writer("w1"), w2: writer("w2") },
        audit: [],
      }),
    );
    const store = await EmbeddedIamStore.open(dir.path);
    try {
      expect((await store.listServiceAccounts("o")).map((a) => a.id)).toEqual(["a", "b"]);
      expect((await store.listProjects("o")).map((p) => p.id)).toEqual(["p1", "p2"]);
      expect((await store.listRoleBindings("o", "a")).map((b) => b.id)).toEqual(["w1", "w2"]);
      await expect(store.createServiceAccount(sa("c"), 50)).rejects.toMatchObject({
        kind: "already_exists",
      });
      await expect(store.createProject(project("p3"))).rejects.toMatchObject({ kind: "already_exists" });
      await expect(store.createRoleBinding({ ...writer("w3"), role: "writer" })).rejects.toMatchObject({
        kind: "already_exists",
      });
      expect((await store.deleteRoleBinding("o", "w1"))?.id).toBe("w1");
      expect((await store.deleteServiceAccount("o", "b"))?.account.id).toBe("b");
      expect((await store.deleteProject("o", "p2"))?.id).toBe("p2");
      expect((await store.listRoleBindings("o")).map((b) => b.id)).toEqual(["w2"]);
    } finally {
      await store.close();
      await dir.remove();
    }
  });
});

describe("embedded store on a failing disk", () => {
  it("acknowledges nothing a failed write lost: the state returns to the last durable one", async () => {
    const dir = await tempDir();
    let failNext: ((error: Error) => void) | undefined;
    const store = await EmbeddedIamStore.open(dir.path, {
      write: async (path, text) => {
        if (!failNext) return writeFile(path, text, { mode: 0o600 });
        await new Promise<void>((_, reject) => {
          failNext = (error) => reject(error);
        });
      },
    });
    await store.createOrganization({ id: "o", name: "o", createdAt: 1 });
    const sa = (id: string) => ({ id, name: id, organizationId: "o", createdAt: 1, createdBy: "" });
    failNext = () => {};
    const first = store.createServiceAccount(sa("first"), 50);
    await new Promise((r) => setTimeout(r, 10));
    const second = store.createServiceAccount(sa("second"), 50);
    const fail = failNext;
    failNext = undefined;
    fail(Object.assign(new Error("no space left on device"), { code: "ENOSPC" }));
    await expect(first).rejects.toMatchObject({ code: "ENOSPC" });
    await expect(second).rejects.toMatchObject({ kind: "unavailable", reason: "store_write_failed" });
    expect(await store.listServiceAccounts("o")).toEqual([]);
    await store.createServiceAccount(sa("third"), 50);
    await store.close();
    const reopened = await EmbeddedIamStore.open(dir.path);
    expect((await reopened.listServiceAccounts("o")).map((a) => a.id)).toEqual(["third"]);
    await reopened.close();
    await dir.remove();
  });
});
