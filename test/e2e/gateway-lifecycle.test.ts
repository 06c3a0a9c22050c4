import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { readBootstrap, startGateway, type GatewayProcess } from "../support/gateway-process.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../dist/cli/profgate.js");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("gateway lifecycle", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const fresh = async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    return dir.path;
  };
  const start = async (dataDir: string, args: string[] = []) => {
    const gateway = await startGateway(dataDir, args);
    cleanups.push(() => gateway.stop("SIGKILL"));
    return gateway;
  };

  it("bootstraps once: token files 0600 with the token and a newline, ids in bootstrap.json, the agent command logged", async () => {
    const dataDir = await fresh();
    const gateway = await start(dataDir);
    const boot = await readBootstrap(dataDir);
    for (const file of ["owner.token", "agent.token", "iam.json", "bootstrap.json"]) {
      expect((await stat(join(dataDir, file))).mode & 0o777, file).toBe(0o600);
    }
    expect(await readFile(join(dataDir, "agent.token"), "utf8")).toMatch(/^psc_v1_[0-9a-f]{64}\n$/);
    const info = JSON.parse(await readFile(join(dataDir, "bootstrap.json"), "utf8"));
    expect(Object.keys(info).sort()).toEqual(
      ["agentServiceAccountId", "organizationId", "ownerServiceAccountId", "projectId"].sort(),
    );
    const logged = gateway.lines.join("\n");
    expect(logged).toContain(
      `--remote-store-bearer-token-file=${join(dataDir, "agent.token")} --remote-store-grpc-headers=projectID=${boot.projectId}`,
    );
    expect(logged).not.toContain(boot.agentToken.slice(7));
    expect(logged).not.toContain(boot.ownerToken.slice(7));
    expect(await gateway.stop("SIGTERM")).toBe(0);

    const again = await start(dataDir);
    expect(await readBootstrap(dataDir)).toEqual(boot);
    expect(again.lines.join("\n")).not.toContain("created the default organization");
  });

  it("keeps IAM data and the sink across a restart", async () => {
    const dataDir = await fresh();
    let gateway: GatewayProcess = await start(dataDir);
    const boot = await readBootstrap(dataDir);
    const first = encodeArrowV2();
    let agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    await agent.writeArrow(first);
    agent.close();
    expect(await gateway.stop("SIGTERM")).toBe(0);

    gateway = await start(dataDir);
    agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    const second = encodeArrowV2();
    await agent.writeArrow(second);
    agent.close();
    const stored = (await sinkRecords(dataDir, boot.projectId)).map((r) => sha(r.payloads[0]!));
    expect(stored).toEqual([sha(first), sha(second)]);
  });

  it("loses no acknowledged write when killed with SIGKILL at random moments, 20 times over", async () => {
    const dataDir = await fresh();
    const acknowledged: string[] = [];
    for (let round = 0; round < 20; round++) {
      const gateway = await start(dataDir);
      const boot = await readBootstrap(dataDir);
      const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
      let stop = false;
      const writer = async () => {
        while (!stop) {
          const payload = encodeArrowV2({ payloadBytes: 16 * 1024 });
          try {
            await agent.writeArrow(payload);
            acknowledged.push(sha(payload));
          } catch {
            return;
          }
        }
      };
      const writers = Array.from({ length: 8 }, writer);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      await gateway.stop("SIGKILL");
      stop = true;
      await Promise.all(writers);
      agent.close();
    }
    const gateway = await start(dataDir);
    expect(gateway.lines.join("\n")).toContain("profgate is listening");
    const stored = new Set((await sinkRecords(dataDir)).map((r) => sha(r.payloads[0]!)));
    expect(acknowledged.length).toBeGreaterThan(200);
    expect(acknowledged.filter((h) => !stored.has(h))).toEqual([]);
  });

  it("fails at start naming the flag or variable when the config is invalid", async () => {
    const dataDir = await fresh();
    const bad = await run(process.execPath, [
      CLI,
      "serve",
      "--grpc-address",
      "nonsense",
      "--data-dir",
      dataDir,
    ]).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid --grpc-address="nonsense"');
    const env = await run(process.execPath, [CLI, "serve", "--data-dir", dataDir], {
      env: { ...process.env, PROFGATE_LOG_LEVEL: "loud" },
    }).catch((e) => e);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("PROFGATE_LOG_LEVEL");
    const unknown = await run(process.execPath, [CLI, "serve", "--no-such-flag"]).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--no-such-flag");
  });

  it("documents every flag in serve --help", async () => {
    const { stdout } = await run(process.execPath, [CLI, "serve", "--help"]);
    for (const flag of ["--grpc-address", "--data-dir", "--log-level", "PROFGATE_GRPC_ADDRESS"]) {
      expect(stdout).toContain(flag);
    }
  });

  it("lists what arrived with profgate spool ls", async () => {
    const dataDir = await fresh();
    const gateway = await start(dataDir);
    const boot = await readBootstrap(dataDir);
    const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    await agent.writeArrow(encodeArrowV2());
    await agent.writeArrow(encodeArrowV2());
    agent.close();
    const { stdout } = await run(process.execPath, [CLI, "spool", "ls", "--data-dir", dataDir, "-o", "json"]);
    const summary = JSON.parse(stdout);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ projectId: boot.projectId, records: 2 });
    const table = await run(process.execPath, [CLI, "spool", "ls", "--data-dir", dataDir]);
    expect(table.stdout).toContain(`project ${boot.projectId}: 2 records`);
    expect(table.stdout).toContain("WriteArrow");
  });
});
