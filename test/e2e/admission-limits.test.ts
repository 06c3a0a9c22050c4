import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../../src/agent-sim/index.js";
import { iamJson, profgate } from "../support/cli.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { prepareIam } from "../support/prepare-iam.js";
import { grpcHeaders, http2Session, rawHttp2Call } from "../support/raw-http2.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const UPLOAD = "/parca.debuginfo.v1alpha1.DebuginfoService/Upload";

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: status.OK, details: "" }),
    (e: { code: number; details: string }) => ({ code: e.code, details: e.details }),
  );

describe("admission: no stranger, neighbour or viewer can exhaust the gateway", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const fresh = async (args: string[], prepare = false) => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const prepared = prepare ? await prepareIam(dir.path) : undefined;
    const gateway = await startGateway(dir.path, args);
    cleanups.push(() => gateway.stop("SIGKILL"));
    return { gateway, dir: dir.path, boot: await readBootstrap(dir.path), prepared };
  };
  const agentOf = (gateway: GatewayProcess, token: string, projectId: string) => {
    const agent = new AgentClient(gateway.target, { token, projectId }, undefined, {
      "grpc.max_send_message_length": 128 * MiB,
    });
    cleanups.push(async () => agent.close());
    return agent;
  };

  it("keeps serving valid tokens and the operator from an address whose neighbour sends junk tokens", async () => {
    const { gateway, dir, boot } = await fresh([
      "--auth-cache-ttl",
      "1s",
      "--auth-failure-burst",
      "5",
      "--auth-failure-cooldown",
      "60s",
    ]);
    const agent = agentOf(gateway, boot.agentToken, boot.projectId);
    expect((await codeOf(agent.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
    const junk = await Promise.all(
      Array.from({ length: 80 }, () =>
        codeOf(
          agentOf(gateway, `psc_v1_${randomBytes(32).toString("hex")}`, boot.projectId).writeArrow(
            encodeArrowV2(),
          ),
        ),
      ),
    );
    // The address cooled down: later junk is refused without asking the store.
    expect(junk.filter((r) => r.code === status.RESOURCE_EXHAUSTED).length).toBeGreaterThan(60);
    // The valid token's cache entry expires; it was valid when last checked, so it is no guess.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await codeOf(agent.writeArrow(encodeArrowV2()))).toEqual({ code: status.OK, details: "" });
    // The operator's CLI, from the same address, has a limiter of its own.
    const projects = await iamJson<unknown[]>(gateway.adminTarget, join(dir, "owner.token"), [
      "projects",
      "list",
    ]);
    expect(projects.length).toBe(1);
    // A token never seen before from the cooling-down address is still refused.
    const stranger = agentOf(gateway, `psc_v1_${randomBytes(32).toString("hex")}`, boot.projectId);
    expect((await codeOf(stranger.writeArrow(encodeArrowV2()))).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("cools down an address that sends the console junk tokens, the operator's own token and the agents unaffected", async () => {
    const { gateway, boot } = await fresh(["--auth-failure-burst", "5", "--auth-failure-cooldown", "60s"]);
    const whoami = (token: string) =>
      fetch(`${gateway.consoleUrl}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect((await whoami(boot.ownerToken)).status).toBe(200);
    const junk: number[] = [];
    for (let i = 0; i < 8; i++) junk.push((await whoami(`psc_v1_${randomBytes(32).toString("hex")}`)).status);
    // The console uses the gateway's decision, failed-auth limiter included.
    expect(junk.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(junk.slice(5)).toEqual([429, 429, 429]);
    const cooling = await whoami(`psc_v1_${randomBytes(32).toString("hex")}`);
    expect(await cooling.json()).toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    // A token valid when last looked up is no guess.
    expect((await whoami(boot.ownerToken)).status).toBe(200);
    // The agents' limiter counted none of it: a junk agent call is still looked up and refused as unknown.
    const stranger = agentOf(gateway, `psc_v1_${randomBytes(32).toString("hex")}`, boot.projectId);
    expect((await codeOf(stranger.writeArrow(encodeArrowV2()))).code).toBe(status.UNAUTHENTICATED);
    expect(
      (await codeOf(agentOf(gateway, boot.agentToken, boot.projectId).writeArrow(encodeArrowV2()))).code,
    ).toBe(status.OK);
  });

  it("bounds what a viewer stores: panic reports are capped at 1 MiB and admitted against the project's rate limit", async () => {
    const { gateway, dir, prepared } = await fresh(
      ["--rate-limit-bytes-per-second", "64KiB", "--rate-limit-burst-bytes", "0"],
      true,
    );
    const { projectId, tokens } = prepared!;
    const viewer = agentOf(gateway, tokens.viewer, projectId);
    const huge = await codeOf(viewer.reportPanic("x".repeat(60 * MiB)));
    expect(huge.code).toBe(status.INVALID_ARGUMENT);
    expect(huge.details).toMatch(/limit of 1048576 bytes/);
    const results = [];
    const started = performance.now();
    for (let i = 0; i < 8; i++) results.push(await codeOf(viewer.reportPanic("p".repeat(20 * KiB))));
    const seconds = (performance.now() - started) / 1000;
    const stored = results.filter((r) => r.code === status.OK).length;
    expect(stored).toBeGreaterThan(0);
    // The bucket holds one second's worth (64 KiB) and refills at 64 KiB/s; a report is 20 KiB and change.
    expect(stored * 20 * KiB).toBeLessThanOrEqual(64 * KiB * (1 + seconds));
    expect(stored).toBeLessThan(8);
    expect(results.find((r) => r.code !== status.OK)).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/over its ingestion rate limit of 65536 bytes\/s/),
    });
    const panics = (await sinkRecords(dir, projectId)).filter((r) => r.method === "ReportPanic");
    expect(panics.length).toBe(stored);
  });

  it("refuses debuginfo over the project's quota, naming it, and takes a per-project quota", async () => {
    const { gateway, dir, boot } = await fresh(["--debuginfo-quota-bytes", "1MiB"]);
    const agent = agentOf(gateway, boot.agentToken, boot.projectId);
    const initiate = (buildId: string, size: number) =>
      codeOf(agent.initiateUpload({ buildId, size: BigInt(size), hash: "h" }));
    expect((await initiate("build-a1", 600 * KiB)).code).toBe(status.OK);
    const over = await initiate("build-b2", 600 * KiB);
    expect(over.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(over.details).toMatch(/quota of 1048576 bytes/);
    const set = await profgate([
      "iam",
      "projects",
      "set-limits",
      boot.projectId,
      "--debuginfo-quota",
      "4MiB",
      "--server",
      gateway.adminTarget,
      "--token-file",
      join(dir, "owner.token"),
    ]);
    expect(set.stdout).toContain("may store 4194304 bytes of debuginfo");
    expect((await initiate("build-b2", 600 * KiB)).code).toBe(status.OK);
  });

  it("admits debuginfo upload chunks against the project's rate limit, naming it", async () => {
    const { gateway, boot } = await fresh([
      "--rate-limit-bytes-per-second",
      "64KiB",
      "--rate-limit-burst-bytes",
      "0",
    ]);
    const agent = agentOf(gateway, boot.agentToken, boot.projectId);
    const size = 1 * MiB;
    const started = await agent.initiateUpload({ buildId: "build-e5", size: BigInt(size), hash: "h" });
    const chunks = Array.from({ length: size / (32 * KiB) }, () => Buffer.alloc(32 * KiB, 1));
    const uploadStarted = performance.now();
    const refused = await codeOf(
      agent.upload({ buildId: "build-e5", uploadId: started.uploadInstructions!.uploadId }, chunks),
    );
    // The bucket holds 64 KiB and refills at 64 KiB/s: 1 MiB cannot pass in a few seconds.
    expect(performance.now() - uploadStarted).toBeLessThan(5000);
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/over its ingestion rate limit of 65536 bytes\/s/);
    // Nothing was stored: the upload is not finished, so marking it finished is refused.
    const marked = await codeOf(
      agent.markUploadFinished({ buildId: "build-e5", uploadId: started.uploadInstructions!.uploadId }),
    );
    expect(marked.code).toBe(status.FAILED_PRECONDITION);
  });

  it("bounds open uploads per service account and process; 500 stalled uploads leave a new agent served", async () => {
    const { gateway, prepared } = await fresh(
      ["--max-open-uploads", "40", "--max-open-uploads-per-account", "10"],
      true,
    );
    const { projectId, tokens } = prepared!;
    const headers = grpcHeaders(UPLOAD, { authorization: `Bearer ${tokens.agent}`, projectid: projectId });
    const sessions = await Promise.all(Array.from({ length: 16 }, () => http2Session(gateway.target)));
    cleanups.push(async () => {
      for (const s of sessions) s.destroy();
    });
    // 500 Upload streams that never send a byte, 32 per connection at most.
    const outcomes = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        rawHttp2Call(sessions[i % 16]!, headers, [], { halfClose: false, timeoutMs: 3000 }),
      ),
    );
    const refused = outcomes.filter((o) => o.grpcStatus === status.RESOURCE_EXHAUSTED);
    expect(refused[0]?.grpcMessage).toMatch(/10 uploads open, its limit \(--max-open-uploads-per-account\)/);
    // Streams beyond HTTP/2's 32 per connection waited; of those the gateway took, 10 were held.
    expect(outcomes.filter((o) => o.timedOut).length).toBeLessThanOrEqual(10);
    // Another agent, with a service account of its own, pushes and uploads.
    const other = agentOf(gateway, tokens.profileWriter, projectId);
    expect((await codeOf(other.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
    const writer = agentOf(gateway, tokens.otherProjectWriter, prepared!.otherProjectId);
    const started = await writer.initiateUpload({ buildId: "build-c3", size: 4n, hash: "h" });
    const uploaded = await writer.upload(
      { buildId: "build-c3", uploadId: started.uploadInstructions!.uploadId },
      [Buffer.from("abcd")],
    );
    expect(uploaded.size).toBe(4n);
  });

  it("ends a Write exchange in flight when its token is deleted", async () => {
    const { gateway, dir, boot } = await fresh([]);
    const agent = agentOf(gateway, boot.agentToken, boot.projectId);
    const owner = join(dir, "owner.token");
    const ids = [randomStacktraceId()];
    let deletedAt = 0;
    // The gateway asks for the stacktraces; while the agent "builds" them, its token is deleted.
    const exchange = codeOf(
      agent.write(encodeSampleRecord({ labels: { node: "n" }, stacktraceIds: ids }), async () => {
        const tokens = await iamJson<Array<{ id: string }>>(gateway.adminTarget, owner, [
          "tokens",
          "list",
          "--service-account",
          boot.agentServiceAccountId,
        ]);
        deletedAt = performance.now();
        await iamJson(gateway.adminTarget, owner, ["tokens", "delete", tokens[0]!.id]);
        await new Promise((r) => setTimeout(r, 4000));
        return encodeLocationsRecord(ids);
      }),
    );
    const ended = await exchange;
    const ms = performance.now() - deletedAt;
    expect(ended.code).toBe(status.UNAUTHENTICATED);
    expect(ended.details).toMatch(/revoked/);
    // Well before the exchange's own 5 s bound.
    expect(ms).toBeLessThan(2000);
    expect(await sinkRecords(dir)).toEqual([]);
  });

  it("ends an upload in flight when its token is deleted", async () => {
    const { gateway, dir, boot } = await fresh([]);
    const agent = agentOf(gateway, boot.agentToken, boot.projectId);
    const started = await agent.initiateUpload({ buildId: "build-d4", size: BigInt(4 * MiB), hash: "h" });
    let release: () => void = () => {};
    const chunks = (async function* () {
      yield Buffer.alloc(64 * KiB);
      await new Promise<void>((r) => {
        release = r;
      });
    })();
    const upload = codeOf(
      agent.upload({ buildId: "build-d4", uploadId: started.uploadInstructions!.uploadId }, chunks),
    );
    await new Promise((r) => setTimeout(r, 300));
    const owner = join(dir, "owner.token");
    const tokens = await iamJson<Array<{ id: string }>>(gateway.adminTarget, owner, [
      "tokens",
      "list",
      "--service-account",
      boot.agentServiceAccountId,
    ]);
    const deletedAt = performance.now();
    await iamJson(gateway.adminTarget, owner, ["tokens", "delete", tokens[0]!.id]);
    const ended = await upload;
    const ms = performance.now() - deletedAt;
    release();
    expect(ended.code).toBe(status.UNAUTHENTICATED);
    expect(ended.details).toMatch(/revoked/);
    expect(ms).toBeLessThan(2000);
  });
});
