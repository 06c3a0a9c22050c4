import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { AdminClient } from "../../src/cli/iam/admin-client.js";
import {
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
} from "../../src/gen/profgate/iam/v1/iam_pb.js";
import { profgate, iamJson } from "../support/cli.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { tempDir } from "../support/temp-dir.js";

type Json = Record<string, unknown> & { id: string };

describe("profgate iam against a running gateway", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;
  let ownerFile: string;
  const secrets: string[] = [];
  const iam = <T = Json>(args: string[], tokenFile = ownerFile) =>
    iamJson<T>(gateway.adminTarget, tokenFile, args);
  const iamRaw = (args: string[], tokenFile = ownerFile) =>
    profgate(["iam", ...args, "--server", gateway.adminTarget, "--token-file", tokenFile]);
  const push = (token: string, projectId = boot.projectId) => {
    const agent = new AgentClient(gateway.target, { token, projectId });
    return agent.writeArrow(encodeArrowV2()).then(
      () => {
        agent.close();
        return { code: status.OK, details: "" };
      },
      (e: { code: number; details: string }) => {
        agent.close();
        return { code: e.code, details: e.details };
      },
    );
  };
  /** A service account with one role binding and a token written to a file. */
  const account = async (name: string, role: string, project?: string, tokenArgs: string[] = []) => {
    const sa = await iam(["service-accounts", "create", name]);
    await iam([
      "role-bindings",
      "create",
      "--service-account",
      sa.id,
      "--role",
      role,
      ...(project ? ["--project", project] : []),
    ]);
    const file = join(dir.path, `${name}.token`);
    const token = await iam([
      "tokens",
      "create",
      "--service-account",
      sa.id,
      "--name",
      name,
      "--out",
      file,
      ...tokenArgs,
    ]);
    const secret = (await readFile(file, "utf8")).trim();
    secrets.push(secret);
    return { sa, token, file, secret };
  };

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(join(dir.path, "data"), ["--last-used-flush-interval", "200ms"]);
    boot = await readBootstrap(join(dir.path, "data"));
    ownerFile = join(dir.path, "data", "owner.token");
    secrets.push(boot.ownerToken, boot.agentToken);
  });
  afterAll(async () => {
    await gateway?.stop();
    await dir?.remove();
  });

  it("runs the whole workflow: a new account's token pushes, and its last-used date shows in the listing", async () => {
    const project = await iam(["projects", "create", "production"]);
    expect((await iam<Json[]>(["projects", "list"])).map((p) => p.id)).toContain(project.id);
    const fleet = await account("fleet", "writer", project.id);
    expect(fleet.token).toMatchObject({ name: "fleet", serviceAccountId: fleet.sa.id });
    expect(fleet.token).not.toHaveProperty("token");
    expect((await stat(fleet.file)).mode & 0o777).toBe(0o600);
    expect(await readFile(fleet.file, "utf8")).toMatch(/^psc_v1_[0-9a-f]{64}\n$/);

    const [before] = await iam<Json[]>(["tokens", "list", "--service-account", fleet.sa.id]);
    expect(before).not.toHaveProperty("lastUsedAt");
    expect((await push(fleet.secret, project.id)).code).toBe(status.OK);
    let after: Json | undefined;
    for (let i = 0; i < 50 && !after?.["lastUsedAt"]; i++) {
      await new Promise((r) => setTimeout(r, 100));
      [after] = await iam<Json[]>(["tokens", "list", "--service-account", fleet.sa.id]);
    }
    expect(Date.parse(String(after?.["lastUsedAt"]))).toBeGreaterThan(Date.now() - 60_000);
    const table = await iamRaw(["tokens", "list", "--service-account", fleet.sa.id]);
    expect(table.stdout).toMatch(/LAST USED/);
    expect(table.stdout).toMatch(/ago/);

    const bindings = await iam<Json[]>(["role-bindings", "list", "--service-account", fleet.sa.id]);
    expect(bindings).toEqual([expect.objectContaining({ role: "writer", projectId: project.id })]);
  });

  it("prints a created token once, with a warning, when no --out is given", async () => {
    const sa = await iam(["service-accounts", "create", "printer"]);
    const result = await iamRaw(["tokens", "create", "--service-account", sa.id, "--name", "once"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/only time it is shown/);
    const secret = /psc_v1_[0-9a-f]{64}/.exec(result.stdout)?.[0];
    expect(secret).toBeDefined();
    secrets.push(secret!);
    const json = await iam(["tokens", "create", "--service-account", sa.id, "--name", "json"]);
    expect(json["token"]).toMatch(/^psc_v1_[0-9a-f]{64}$/);
    secrets.push(String(json["token"]));
    const listed = JSON.stringify(await iam(["tokens", "list", "--service-account", sa.id]));
    expect(listed).not.toContain(secret!.slice(7));
    expect(listed).not.toContain(String(json["token"]).slice(7));
  });

  it("lets a viewer list but not create, saying which permission is missing", async () => {
    const viewer = await account("viewer", "viewer");
    expect((await iam<Json[]>(["service-accounts", "list"], viewer.file)).length).toBeGreaterThan(2);
    const refused = await iamRaw(["service-accounts", "create", "nope"], viewer.file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/serviceaccount\.create is missing/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const noToken = await iamRaw(
      ["tokens", "create", "--service-account", viewer.sa.id, "--name", "x"],
      viewer.file,
    );
    expect(noToken.stderr).toMatch(/serviceaccounttoken\.create is missing/);
  });

  it("keeps organizations apart: another organization's owner sees and touches only its own", async () => {
    const created = await iam<Record<string, Json>>(["organizations", "create", "acme"]);
    const acmeToken = String(created["ownerToken"]!["token"]);
    secrets.push(acmeToken);
    const acmeFile = join(dir.path, "acme.token");
    await writeFile(acmeFile, `${acmeToken}\n`, { mode: 0o600 });
    const accounts = await iam<Json[]>(["service-accounts", "list"], acmeFile);
    expect(accounts.map((a) => a["name"])).toEqual(["owner"]);
    expect(await iam<Json[]>(["projects", "list"], acmeFile)).toEqual([]);
    const foreign = await iamRaw(["service-accounts", "delete", boot.agentServiceAccountId], acmeFile);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/does not exist in this organization/);
    const orgs = await iam<Json[]>(["organizations", "list"], acmeFile);
    expect(orgs.map((o) => o["name"])).toEqual(["acme"]);
    const creating = await iamRaw(["organizations", "create", "sub"], acmeFile);
    expect(creating.stderr).toMatch(/Only owners of the installation's organization/);
    expect((await push(acmeToken)).code).toBe(status.PERMISSION_DENIED);
  });

  it("holds the quotas under concurrency: 200 token creations give 100, 60 account creations fill 50", async () => {
    const sa = await iam(["service-accounts", "create", "quota"]);
    const tokens = new AdminClient(ServiceAccountTokenService, gateway.adminTarget, boot.ownerToken);
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        tokens.call("createServiceAccountToken", { serviceAccountId: sa.id, name: `t${i}` }),
      ),
    );
    tokens.close();
    const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(results.length - refused.length).toBe(100);
    expect(refused.length).toBe(100);
    for (const r of refused) {
      expect(r.reason.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(r.reason.details).toMatch(/at most 100 tokens per service account/);
    }
    const listed = await iamRaw(["tokens", "list", "--service-account", sa.id]);
    expect(listed.stdout).toContain("100 / 100 tokens");
    const over = await iamRaw(["tokens", "create", "--service-account", sa.id, "--name", "101st"]);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/Quota exceeded: at most 100 tokens per service account/);

    const created = await iam<Record<string, Json>>(["organizations", "create", "crowded"]);
    const accounts = new AdminClient(
      ServiceAccountService,
      gateway.adminTarget,
      String(created["ownerToken"]!["token"]),
    );
    const made = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => accounts.call("createServiceAccount", { name: `sa-${i}` })),
    );
    const list = await accounts.call("listServiceAccounts", {});
    accounts.close();
    expect(list.serviceAccounts.length).toBe(50);
    expect(made.filter((r) => r.status === "fulfilled").length).toBe(49); // plus the organization's owner
  });

  it("refuses a repeated project name, service account name or role binding, naming the existing one", async () => {
    const twin = await iam(["service-accounts", "create", "twin"]);
    const again = await iamRaw(["service-accounts", "create", "twin"]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      `profgate: A service account named "twin" already exists in this organization (${twin.id}); choose another name.`,
    );
    const accounts = new AdminClient(ServiceAccountService, gateway.adminTarget, boot.ownerToken);
    const raced = await Promise.allSettled(
      Array.from({ length: 10 }, () => accounts.call("createServiceAccount", { name: "racer" })),
    );
    accounts.close();
    const refused = raced.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(raced.length - refused.length).toBe(1);
    for (const r of refused) expect(r.reason.code).toBe(status.ALREADY_EXISTS);
    const names = (await iam<Json[]>(["service-accounts", "list"])).map((a) => a["name"]);
    expect(names.filter((n) => n === "twin" || n === "racer").sort()).toEqual(["racer", "twin"]);

    const project = await iam(["projects", "create", "twins"]);
    const repeated = await iamRaw(["projects", "create", "twins"]);
    expect(repeated.stderr).toContain(
      `A project named "twins" already exists in this organization (${project.id})`,
    );
    const bind = (role: string, scope: string[] = []) =>
      iamRaw(["role-bindings", "create", "--service-account", twin.id, "--role", role, ...scope]);
    expect((await bind("viewer")).code).toBe(0);
    const twice = await bind("viewer");
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already has role viewer organization-wide \(role binding [0-9a-f-]{36}\)/);
    expect((await bind("viewer", ["--project", project.id])).code).toBe(0);
    expect((await bind("viewer", ["--project", project.id])).stderr).toContain(
      `already has role viewer on project ${project.id}`,
    );
    expect(await iam<Json[]>(["role-bindings", "list", "--service-account", twin.id])).toHaveLength(2);
  });

  it("refuses to delete an organization's last owner who can authenticate, in the CLI, the API and the console", async () => {
    const created = await iam<Record<string, Json>>(["organizations", "create", "guarded"]);
    const founderToken = String(created["ownerToken"]!["token"]);
    secrets.push(founderToken);
    const founderFile = join(dir.path, "guarded.token");
    await writeFile(founderFile, `${founderToken}\n`, { mode: 0o600 });
    const founder = created["ownerServiceAccount"]!.id;
    const [founderBinding] = await iam<Json[]>(
      ["role-bindings", "list", "--service-account", founder],
      founderFile,
    );
    const [founderTokenRecord] = await iam<Json[]>(
      ["tokens", "list", "--service-account", founder],
      founderFile,
    );
    const why = "would leave this organization without an owner who can authenticate";
    const attempts = [
      ["role-bindings", "delete", founderBinding!.id],
      ["service-accounts", "delete", founder],
      ["tokens", "delete", founderTokenRecord!.id],
    ];
    for (const args of attempts) {
      const refused = await iamRaw(args, founderFile);
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
      expect(refused.stderr).toContain(why);
    }
    expect((await iamRaw(attempts[0]!, founderFile)).stderr.trim()).toBe(
      `profgate: Deleting role binding ${founderBinding!.id} ${why}; bind another service account that has a token as owner first.`,
    );
    const bindings = new AdminClient(RoleBindingService, gateway.adminTarget, founderToken);
    const code = await bindings.call("deleteRoleBinding", { id: founderBinding!.id }).then(
      () => status.OK,
      (e: { code: number }) => e.code,
    );
    bindings.close();
    expect(code).toBe(status.FAILED_PRECONDITION);
    const answer = await fetch(`${gateway.consoleUrl}/api/role-bindings/${founderBinding!.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${founderToken}` },
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      code: "FAILED_PRECONDITION",
      error: expect.stringContaining(why),
    });

    // A second owner without a token does not count; with one, the founder may go.
    const deputy = await iam(["service-accounts", "create", "deputy"], founderFile);
    await iam(["role-bindings", "create", "--service-account", deputy.id, "--role", "owner"], founderFile);
    expect((await iamRaw(attempts[1]!, founderFile)).stderr).toContain(why);
    const deputyFile = join(dir.path, "deputy.token");
    await iam(
      ["tokens", "create", "--service-account", deputy.id, "--name", "deputy", "--out", deputyFile],
      founderFile,
    );
    secrets.push((await readFile(deputyFile, "utf8")).trim());
    expect((await iamRaw(attempts[1]!, founderFile)).code).toBe(0);
    const left = await iam<Json[]>(["role-bindings", "list"], deputyFile);
    expect(left.map((b) => [b["serviceAccountId"], b["role"]])).toEqual([[deputy.id, "owner"]]);
    expect((await iamRaw(["service-accounts", "delete", deputy.id], deputyFile)).stderr).toContain(why);
  });

  it("makes deletions take effect on the very next ingestion call", async () => {
    const project = await iam(["projects", "create", "doomed"]);
    const byToken = await account("by-token", "writer", project.id);
    expect((await push(byToken.secret, project.id)).code).toBe(status.OK);
    await iam(["tokens", "delete", byToken.token.id]);
    expect(await push(byToken.secret, project.id)).toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(/revoked/),
    });

    const byBinding = await account("by-binding", "writer", project.id);
    expect((await push(byBinding.secret, project.id)).code).toBe(status.OK);
    const [binding] = await iam<Json[]>(["role-bindings", "list", "--service-account", byBinding.sa.id]);
    await iam(["role-bindings", "delete", binding!.id]);
    expect((await push(byBinding.secret, project.id)).code).toBe(status.PERMISSION_DENIED);

    const byAccount = await account("by-account", "writer", project.id);
    expect((await push(byAccount.secret, project.id)).code).toBe(status.OK);
    await iam(["service-accounts", "delete", byAccount.sa.id]);
    expect((await push(byAccount.secret, project.id)).code).toBe(status.UNAUTHENTICATED);
    expect(await iam<Json[]>(["role-bindings", "list", "--service-account", byAccount.sa.id])).toEqual([]);

    const byProject = await account("by-project", "writer", project.id);
    expect((await push(byProject.secret, project.id)).code).toBe(status.OK);
    await iam(["projects", "delete", project.id]);
    expect((await push(byProject.secret, project.id)).code).toBe(status.PERMISSION_DENIED);
    expect(await iam<Json[]>(["role-bindings", "list", "--service-account", byProject.sa.id])).toEqual([]);
  });

  it("refuses an expired token, saying it expired", async () => {
    const short = await account("short-lived", "writer", boot.projectId, ["--expires-in", "1500ms"]);
    expect((await push(short.secret)).code).toBe(status.OK);
    await new Promise((r) => setTimeout(r, 1600));
    const refused = await push(short.secret);
    expect(refused.code).toBe(status.UNAUTHENTICATED);
    expect(refused.details).toMatch(/expired/);
  });

  it("lists every change in the audit trail, and no secret", async () => {
    const events = await iam<Json[]>(["audit", "list", "--limit", "1000"]);
    const actions = new Set(events.map((e) => e["action"]));
    for (const action of [
      "project.create",
      "project.delete",
      "serviceaccount.create",
      "serviceaccount.delete",
      "serviceaccounttoken.create",
      "serviceaccounttoken.delete",
      "rolebinding.create",
      "rolebinding.delete",
      "organization.create",
    ]) {
      expect(actions, action).toContain(action);
    }
    expect(events[0]!["time"]! >= events[events.length - 1]!["time"]!).toBe(true);
    const text = JSON.stringify(events);
    for (const secret of secrets) expect(text).not.toContain(secret.slice(7));
    const viewerFile = join(dir.path, "viewer.token");
    const refused = await iamRaw(["audit", "list"], viewerFile);
    expect(refused.stderr).toMatch(/auditlog\.list is missing/);
  });

  it("explains errors in one sentence and exits non-zero", async () => {
    const missing = await profgate([
      "iam",
      "projects",
      "list",
      "--server",
      gateway.adminTarget,
      "--token-file",
      "/nonexistent",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/Cannot read the token file \/nonexistent/);
    const unreachable = await profgate([
      "iam",
      "projects",
      "list",
      "--server",
      "127.0.0.1:1",
      "--token-file",
      ownerFile,
    ]);
    expect(unreachable.stderr).toMatch(/Cannot reach the admin API at 127\.0\.0\.1:1/);
    const unknown = await iamRaw(["gadgets", "list"]);
    expect(unknown.code).toBe(2);
    const badRole = await iamRaw([
      "role-bindings",
      "create",
      "--service-account",
      boot.agentServiceAccountId,
      "--role",
      "admin",
    ]);
    expect(badRole.stderr).toMatch(/Unknown role "admin"/);
  });
});
