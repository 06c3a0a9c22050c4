import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { setPriority } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { UploadRequestSchema } from "../../src/gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { type AttackOptions, type AttackReport, startHostileClient } from "../support/hostile-clients.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { type PreparedIam, prepareIam } from "../support/prepare-iam.js";
import { grpcFrame } from "../support/raw-grpc.js";
import { grpcHeaders, http2Session } from "../support/raw-http2.js";
import { validateDebuginfo, validateSink } from "../support/sink-validation.js";
import { latencyStats, type Push, SteadyAgent } from "../support/steady-agent.js";
import { tempDir } from "../support/temp-dir.js";

/**
 * How long each baseline and each attack is measured; PROFGATE_HARDENING_WINDOW_MS lengthens
 * it for a longer local run (more pushes make a steadier p99).
 */
const WINDOW_MS = Number(process.env["PROFGATE_HARDENING_WINDOW_MS"] ?? 5000);
/**
 * The stream flood is measured over 20 s or more (420 pushes and up, so that its p99 is a
 * percentile and not the few slowest pushes): the attacker's first wave, taken in full before the
 * gateway knows the streams are abandoned, stalls a few pushes on a busy 2-core machine; what
 * counts is that the rest of the attack, refused connection by connection, does not.
 */
const FLOOD_WINDOW_MS = Math.max(WINDOW_MS, 20_000);
/** The machine is shared and noisy: a p99 within 2x of the baseline, or 20 ms above it. */
const allowedP99 = (baseline: number) => Math.max(2 * baseline, baseline + 20);
/** After an attack stops, the steady agent is measured this much longer, as part of the attack. */
const AFTERMATH_MS = 1000;
/** Connections at a time of the random-bytes and preface attacks (PROFGATE_HARDENING_CONNECTIONS). */
const CONNECTIONS = Number(process.env["PROFGATE_HARDENING_CONNECTIONS"] ?? 4);
/** A measurement over the limit is taken again (baseline and attack), at most this many times in all. */
const ATTEMPTS = Number(process.env["PROFGATE_HARDENING_ATTEMPTS"] ?? 3);

/**
 * The gateway and the steady agent (this process) get a higher scheduling priority than the
 * attacker and whatever else runs on the machine, as if each had a machine of its own; the
 * attack then competes with the agent only inside the gateway. Needs root; skipped otherwise.
 */
function prioritize(pid: number | undefined): void {
  try {
    if (pid !== undefined) setPriority(pid, -10);
  } catch {
    // Not permitted: measure as is.
  }
}

/**
 * Attackers connect from an address of their own, as remote ones would (all of 127/8 is
 * loopback): 127.0.0.2 on the first attempt, 127.0.0.3 on the second, and so on, so that an
 * attempt taken again meets a gateway that has not cut its attacker off yet.
 */
const attackerAddress = (attempt: number) => `127.0.0.${1 + attempt}`;
const PS = "/parca.profilestore.v1alpha1.ProfileStoreService";
const UPLOAD = "/parca.debuginfo.v1alpha1.DebuginfoService/Upload";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const frame = (init: Parameters<typeof create<typeof UploadRequestSchema>>[1]) =>
  grpcFrame(toBinary(UploadRequestSchema, create(UploadRequestSchema, init)));

describe("hostile clients while a well-behaved agent pushes every 50 ms", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let iam: PreparedIam;
  let gateway: GatewayProcess;
  let steady: SteadyAgent;
  /** The attackers' own identity: another project, so they share no quota with the steady agent. */
  let attackerHeaders: Record<string, string>;
  const measured: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    iam = await prepareIam(dir.path);
    gateway = await startGateway(dir.path);
    prioritize(gateway.child.pid);
    prioritize(process.pid);
    attackerHeaders = {
      authorization: `Bearer ${iam.tokens.otherProjectWriter}`,
      projectid: iam.otherProjectId,
    };
    steady = new SteadyAgent(gateway.target, { token: iam.tokens.agent, projectId: iam.projectId });
    steady.start();
    // Warm up: connection, JIT, caches.
    await steady.measure(1000);
  });
  afterAll(async () => {
    await steady?.stop().catch(() => {});
    console.info(`hostile clients, steady agent latency (ms):\n${measured.join("\n")}`);
    await gateway?.stop();
    await dir?.remove();
  });

  /**
   * Measures a baseline, then the steady agent's pushes while `attack` runs. Every push must
   * succeed; the p99 must stay within the limit, measured again (baseline included) up to
   * ATTEMPTS times when the machine's noise pushed it over.
   */
  async function underAttack(
    name: string,
    attack: (attempt: number) => Promise<() => Promise<unknown>>,
    windowMs = WINDOW_MS,
  ) {
    for (let attempt = 1; ; attempt++) {
      // Let the previous attack's aftermath drain before the baseline.
      await steady.measure(500);
      const baseline = latencyStats(await steady.measure(windowMs));
      const stop = await attack(attempt);
      let pushes: Push[];
      let report: unknown;
      try {
        pushes = await steady.measure(windowMs);
      } finally {
        report = await stop();
      }
      // What the end of an attack releases (connections, streams, files) counts too.
      pushes.push(...(await steady.measure(AFTERMATH_MS)));
      const attacked = latencyStats(pushes);
      const line = `${name} (attempt ${attempt}): baseline p50 ${baseline.p50.toFixed(1)} p99 ${baseline.p99.toFixed(1)} (${baseline.count} pushes); under attack p50 ${attacked.p50.toFixed(1)} p99 ${attacked.p99.toFixed(1)} max ${attacked.max.toFixed(1)} (${attacked.count} pushes); ${JSON.stringify(report)}`;
      measured.push(line);
      expect(gateway.child.exitCode, line).toBeNull();
      expect(
        pushes.filter((p) => p.code !== status.OK).map((p) => `${status[p.code]} ${p.details}`),
        line,
      ).toEqual([]);
      expect(attacked.count, line).toBeGreaterThan(((windowMs + AFTERMATH_MS) / 50) * 0.7);
      if (attacked.p99 <= allowedP99(baseline.p99) || attempt >= ATTEMPTS) {
        expect(attacked.p99, line).toBeLessThanOrEqual(allowedP99(baseline.p99));
        return report;
      }
    }
  }

  const hostile = (options: Omit<AttackOptions, "target">) => async (attempt: number) => {
    const client = startHostileClient({
      target: gateway.target,
      localAddress: attackerAddress(attempt),
      ...options,
    });
    await sleep(200);
    return () => client.stop();
  };

  it("random bytes on the gRPC port", async () => {
    const report = (await underAttack(
      "random bytes",
      hostile({ attack: "random-bytes", concurrency: CONNECTIONS, pauseMs: 20 }),
    )) as {
      connections: number;
    };
    expect(report.connections).toBeGreaterThan(50);
  });

  it("a valid HTTP/2 preface, then garbage", async () => {
    const report = (await underAttack(
      "preface then garbage",
      hostile({ attack: "preface-garbage", concurrency: CONNECTIONS, pauseMs: 20 }),
    )) as { connections: number };
    expect(report.connections).toBeGreaterThan(50);
  });

  it("slow senders trickling a 30 MiB message, a few KB per 100 ms", async () => {
    const report = (await underAttack(
      "slow sender",
      hostile({
        attack: "slow-sender",
        streams: 8,
        path: `${PS}/WriteArrow`,
        headers: attackerHeaders,
        chunkBytes: 4096,
        everyMs: 100,
      }),
    )) as { bytesSent: number };
    expect(report.bytesSent).toBeGreaterThan(8 * 4096 * 10);
    // Nothing of the unfinished messages was stored.
    const { records, problems } = await validateSink(dir.path);
    expect(problems).toEqual([]);
    expect(records.filter((r) => r.projectId === iam.otherProjectId)).toEqual([]);
  });

  const abandonedPaths = [`${PS}/WriteArrow`, `${PS}/Write`, UPLOAD, `${PS}/WriteRaw`];

  const metrics = async () => parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());

  // Each attempt measures 20 s of baseline and 20 s under attack: up to ATTEMPTS of them need more than 120 s.
  it("thousands of streams opened with valid headers, held without a byte, then abandoned: the attacker is cut off", async () => {
    const before = await metrics();
    const report = (await underAttack(
      "abandoned streams",
      hostile({
        attack: "abandoned-streams",
        mode: "churn",
        // 16 connections, each with as many open streams as the gateway lets one connection have
        // (--max-concurrent-streams, 32), held for 0.8 s and dropped, wave after wave: thousands
        // of streams over the attack.
        concurrency: Number(process.env["PROFGATE_HARDENING_CONNECTIONS"] ?? 16),
        streamsPerConnection: 32,
        holdMs: 800,
        paths: abandonedPaths,
        headers: attackerHeaders,
      }),
      FLOOD_WINDOW_MS,
    )) as AttackReport;
    const after = await metrics();
    const delta = (name: string, labels?: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    // The attacker tried thousands of streams; the gateway took --abandoned-stream-burst (256) of
    // them, and more of those already in flight, then closed the attacker's connections and
    // refused its new ones.
    expect(report.streamsOpened).toBeGreaterThanOrEqual(2000);
    expect(delta("grpc_server_started_total")).toBeGreaterThanOrEqual(256);
    expect(delta("profgate_peer_cutoffs_total", { reason: "abandoned_streams" })).toBeGreaterThanOrEqual(1);
    expect(delta("profgate_grpc_connections_refused_total")).toBeGreaterThan(0);
    expect(await gateway.log((log) => log.includes("abandoned too many streams"))).toMatch(
      /"address":"127\.0\.0\.\d+".*abandoned too many streams: closed its connections, refusing new ones for 60s/,
    );
  }, 240_000);

  /** Starts an Upload by hand, sends the info and part of the bytes, then drops the connection. */
  async function interruptedUpload(buildId: string, uploadId: string): Promise<void> {
    const session = await http2Session(gateway.target);
    const stream = session.request(
      grpcHeaders(UPLOAD, { authorization: `Bearer ${iam.tokens.agent}`, projectid: iam.projectId }),
      { endStream: false },
    );
    stream.on("error", () => {});
    stream.write(frame({ data: { case: "info", value: { buildId, uploadId } } }));
    stream.write(frame({ data: { case: "chunkData", value: new Uint8Array(512 * 1024).fill(1) } }));
    await sleep(100);
    session.destroy();
  }

  async function partFiles(): Promise<string[]> {
    const entries = await readdir(join(dir.path, "debuginfo"), { recursive: true }).catch(() => []);
    return entries.filter((name) => String(name).endsWith(".part")).map(String);
  }

  async function waitForNoPartFiles(): Promise<void> {
    const deadline = Date.now() + 5000;
    while ((await partFiles()).length > 0 && Date.now() < deadline) await sleep(50);
    expect(await partFiles()).toEqual([]);
  }

  it("disconnects in the middle of Upload: the gateway discards the bytes, and the upload restarts when forced", async () => {
    const agent = new AgentClient(gateway.target, { token: iam.tokens.agent, projectId: iam.projectId });
    const size = 2 * 1024 * 1024;
    const builds: Array<{ buildId: string; uploadId: string }> = [];
    await underAttack("disconnects mid-Upload", async () => {
      // The agent's own connections (from 127.0.0.1), not an attacker's.
      let running = true;
      const loop = (async () => {
        while (running) {
          const buildId = `interrupted-${randomUUID()}`;
          const { uploadInstructions } = await agent.initiateUpload({
            buildId,
            size: BigInt(size),
            hash: "h",
          });
          builds.push({ buildId, uploadId: uploadInstructions!.uploadId });
          await interruptedUpload(buildId, uploadInstructions!.uploadId);
          await sleep(100);
        }
      })();
      return async () => {
        running = false;
        await loop;
        return { interrupted: builds.length };
      };
    });
    expect(builds.length).toBeGreaterThan(5);
    await waitForNoPartFiles();
    // An agent that went away is no failure of the gateway: counted as cancelled, not logged as a fault.
    const counted = parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
    expect(
      metricValue(counted, "profgate_debuginfo_uploads_total", { result: "cancelled" }),
    ).toBeGreaterThanOrEqual(builds.length - 1);
    expect(metricValue(counted, "profgate_debuginfo_uploads_total", { result: "failed" })).toBe(0);
    expect(gateway.lines.join("\n")).not.toContain("failed inside the gateway");

    const { buildId } = builds[0]!;
    expect(await agent.shouldInitiateUpload({ buildId })).toMatchObject({
      shouldInitiateUpload: false,
      reason: "A previous upload is still in-progress and not stale yet (only stale uploads can be retried).",
    });
    const bytes = Buffer.alloc(size, 9);
    const forced = await agent.initiateUpload({ buildId, size: BigInt(size), hash: "h", force: true });
    const uploadId = forced.uploadInstructions!.uploadId;
    const uploaded = await agent.upload({ buildId, uploadId }, [
      bytes.subarray(0, size / 2),
      bytes.subarray(size / 2),
    ]);
    expect(uploaded.size).toBe(BigInt(size));
    await agent.markUploadFinished({ buildId, uploadId });
    expect((await agent.shouldInitiateUpload({ buildId })).shouldInitiateUpload).toBe(false);
    agent.close();
    expect(await validateDebuginfo(dir.path)).toEqual([]);
  });

  it("an interrupted upload becomes retryable without force once stale (15 min, simulated by back-dating its record)", async () => {
    const agent = new AgentClient(gateway.target, { token: iam.tokens.agent, projectId: iam.projectId });
    const buildId = `stale-${randomUUID()}`;
    const size = 1024 * 1024;
    const first = await agent.initiateUpload({ buildId, size: BigInt(size), hash: "h" });
    await interruptedUpload(buildId, first.uploadInstructions!.uploadId);
    await waitForNoPartFiles();
    const refused = await agent.initiateUpload({ buildId, size: BigInt(size), hash: "h" }).then(
      () => status.OK,
      (e: { code: number }) => e.code,
    );
    expect(refused).toBe(status.FAILED_PRECONDITION);

    // The record keeps when the upload started; the gateway reads it on every call.
    const typeDir = join(
      dir.path,
      "debuginfo",
      iam.projectId,
      Buffer.from(buildId).toString("hex"),
      "debuginfo",
    );
    const record = JSON.parse(await readFile(join(typeDir, "state.json"), "utf8"));
    record.startedAt -= 16 * 60 * 1000;
    await writeFile(join(typeDir, "state.json.tmp"), JSON.stringify(record));
    await rename(join(typeDir, "state.json.tmp"), join(typeDir, "state.json"));

    const should = await agent.shouldInitiateUpload({ buildId });
    expect(should.shouldInitiateUpload).toBe(true);
    expect(should.reason).toMatch(/stale/i);
    const again = await agent.initiateUpload({ buildId, size: BigInt(size), hash: "h" });
    const uploadId = again.uploadInstructions!.uploadId;
    await agent.upload({ buildId, uploadId }, [Buffer.alloc(size, 3)]);
    await agent.markUploadFinished({ buildId, uploadId });
    agent.close();
    expect(await validateDebuginfo(dir.path)).toEqual([]);
  });

  it("afterwards the gateway still serves: new agents push, and the sink holds only well-formed records", async () => {
    const agent = new AgentClient(gateway.target, { token: iam.tokens.agent, projectId: iam.projectId });
    await agent.writeArrow(encodeArrowV2());
    agent.close();
    const health = await fetch(`${gateway.httpUrl}/readyz`);
    expect(health.status).toBe(200);
    await steady.stop();
    const { records, problems } = await validateSink(dir.path);
    expect(problems).toEqual([]);
    const ok = steady.pushes.filter((p) => p.code === status.OK).length;
    // Every acknowledged push of the steady agent is stored (and the one above).
    expect(records.filter((r) => r.projectId === iam.projectId).length).toBe(ok + 1);
  });
});
