import { randomUUID } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { iamJson, profgate } from "../support/cli.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = /^psc_v1_[0-9a-f]{64}\n$/;

async function generate(out: string) {
  const result = await profgate(["token", "generate", "--out", out]);
  expect(result.code, result.stderr).toBe(0);
  return (await readFile(out, "utf8")).trim();
}

describe("the first start takes the tokens and the project id an operator provides", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let ownerFile: string;
  let agentFile: string;
  const projectId = randomUUID();
  const dataDir = () => join(dir.path, "data");

  beforeAll(async () => {
    dir = await tempDir();
    ownerFile = join(dir.path, "owner-token");
    agentFile = join(dir.path, "agent-token");
    await generate(ownerFile);
    await generate(agentFile);
    gateway = await startGateway(dataDir(), [
      "--bootstrap-owner-token-file",
      ownerFile,
      "--bootstrap-agent-token-file",
      agentFile,
      "--bootstrap-project-id",
      projectId,
    ]);
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    await dir?.remove();
  });

  it("prints a fresh token each time, and writes one only to a new file of mode 0600", async () => {
    const first = await profgate(["token", "generate"]);
    const second = await profgate(["token", "generate"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(TOKEN);
    expect(second.stdout).toMatch(TOKEN);
    expect(second.stdout).not.toBe(first.stdout);
    expect((await stat(ownerFile)).mode & 0o777).toBe(0o600);
    const before = await readFile(ownerFile, "utf8");
    const again = await profgate(["token", "generate", "--out", ownerFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists/);
    expect(await readFile(ownerFile, "utf8")).toBe(before);
  });

  it("accepts a push with the provided agent token to the provided project id", async () => {
    const push = await profgate([
      "loadgen",
      "--target",
      gateway.target,
      "--token-file",
      agentFile,
      "--project",
      projectId,
      "--agents",
      "1",
      "--mix",
      "writearrow=1",
      "--rate",
      "2",
      "--duration",
      "1s",
      "-o",
      "json",
    ]);
    expect(push.code, push.stderr).toBe(0);
    const metrics = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/profgate_ingest_requests_total\{[^}]*method="WriteArrow"[^}]*\} [1-9]/);
  });

  it("lets the provided owner token manage the organization, and keeps no copy of either token", async () => {
    const accounts = await iamJson<Array<{ name: string }>>(gateway.adminTarget, ownerFile, [
      "service-accounts",
      "list",
    ]);
    expect(accounts.map((a) => a.name).sort()).toEqual(["agent", "owner"]);
    const projects = await iamJson<Array<{ id: string; name: string }>>(gateway.adminTarget, ownerFile, [
      "projects",
      "list",
    ]);
    expect(projects).toEqual([expect.objectContaining({ id: projectId, name: "default" })]);
    const files = await readdir(dataDir());
    expect(files).not.toContain("owner.token");
    expect(files).not.toContain("agent.token");
    const log = await gateway.log((text) => text.includes("push with:"));
    expect(log).toContain(`--remote-store-bearer-token-file=${agentFile}`);
    for (const secret of [await readFile(ownerFile, "utf8"), await readFile(agentFile, "utf8")])
      expect(log).not.toContain(secret.trim());
  });

  it("ignores other provided tokens once the store is bootstrapped", async () => {
    await gateway.stop();
    const otherOwner = join(dir.path, "other-owner");
    await generate(otherOwner);
    gateway = await startGateway(dataDir(), ["--bootstrap-owner-token-file", otherOwner]);
    const refused = await profgate([
      "iam",
      "service-accounts",
      "list",
      "--server",
      gateway.adminTarget,
      "--token-file",
      otherOwner,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/UNAUTHENTICATED|unknown/i);
    const accounts = await iamJson<unknown[]>(gateway.adminTarget, ownerFile, ["service-accounts", "list"]);
    expect(accounts).toHaveLength(2);
  });

  it("refuses at start a file without a token, and the same token for both accounts, naming the flags", async () => {
    const junk = join(dir.path, "junk");
    await (await import("node:fs/promises")).writeFile(junk, "paste a token here\n");
    const fresh = join(dir.path, "fresh");
    const malformed = await profgate(["serve", `--data-dir=${fresh}`, "--bootstrap-owner-token-file", junk]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--bootstrap-owner-token-file.*profgate token generate/);
    expect(malformed.stderr).not.toContain("paste a token here");
    const same = await profgate([
      "serve",
      `--data-dir=${fresh}`,
      "--bootstrap-owner-token-file",
      ownerFile,
      "--bootstrap-agent-token-file",
      ownerFile,
    ]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(
      /--bootstrap-owner-token-file and --bootstrap-agent-token-file hold the same token/,
    );
    const badId = await profgate(["serve", `--data-dir=${fresh}`, "--bootstrap-project-id", "default"]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/--bootstrap-project-id.*UUID/);
  });
});
