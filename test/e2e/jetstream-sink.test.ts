import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../../src/agent-sim/index.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import { WriteRawRequestSchema } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { METHOD_PATHS } from "../../src/record-log/record.js";
import { readStream, type StreamEntry } from "../../src/jetstream/stream-reader.js";
import type { StreamReport } from "../../src/jetstream/inspect-stream.js";
import { profgate } from "../support/cli.js";
import { sinkRecords } from "../support/sink-contents.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { createCa, issue } from "../support/certificates.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { natsOperator } from "../support/nats-operator.js";
import {
  type NatsCluster,
  type NatsServer,
  startNatsCluster,
  startNatsServer,
} from "../support/nats-server.js";
import { tempDir } from "../support/temp-dir.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every record of `stream`; retried while the cluster elects new leaders after a node died. */
async function streamEntries(urls: string[], stream: string): Promise<StreamEntry[]> {
  const nc = await connect({ servers: urls });
  const deadline = Date.now() + 20_000;
  try {
    for (;;) {
      try {
        const entries: StreamEntry[] = [];
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        for await (const entry of readStream(jetstream(nc), jsm, stream)) entries.push(entry);
        return entries;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  } finally {
    await nc.close();
  }
}

function rawRequest(n: number) {
  return create(WriteRawRequestSchema, {
    series: [
      {
        labels: {
          labels: [
            { name: "__name__", value: "parca_agent_cpu" },
            { name: "seq", value: String(n) },
          ],
        },
        samples: [{ rawProfile: encodePprof({ seed: n }) }],
      },
    ],
  });
}

async function metrics(gateway: GatewayProcess) {
  return parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
}

describe("--sink jetstream on a 3-node cluster, stream with 3 replicas", () => {
  let cluster: NatsCluster;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    dir = await tempDir();
  }, 40_000);
  afterAll(async () => {
    await cluster?.stop();
    await dir?.remove();
  });

  it("keeps every acknowledged payload byte for byte through kill -9 of a NATS node and of the gateway", async () => {
    const gateway = await startGateway(dir.path, [
      "--sink",
      "jetstream",
      "--nats-servers",
      cluster.urls.join(","),
      "--jetstream-replicas",
      "3",
    ]);
    const boot = await readBootstrap(dir.path);
    const client = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    const acknowledged: string[] = [];
    const failures: number[] = [];
    let stopped = false;
    let n = 0;
    const pushing = (async () => {
      while (!stopped) {
        const request = rawRequest(++n);
        try {
          await client.writeRaw(request, { deadline: Date.now() + 8000 });
          acknowledged.push(sha(toBinary(WriteRawRequestSchema, request)));
        } catch (error) {
          failures.push((error as { code: number }).code);
          await sleep(20);
        }
      }
    })();
    await sleep(800);
    const beforeKill = acknowledged.length;
    cluster.kill(0);
    // A new stream leader is elected within seconds; pushes are acknowledged again after it.
    const killedAt = Date.now();
    while (acknowledged.length < beforeKill + 20 && Date.now() - killedAt < 25_000) await sleep(100);
    const afterNodeKill = acknowledged.length;
    gateway.child.kill("SIGKILL");
    stopped = true;
    await pushing;
    client.close();
    await gateway.stop();

    expect(beforeKill).toBeGreaterThan(5);
    // The stream kept quorum: pushes went on being acknowledged after the node died.
    expect(afterNodeKill - beforeKill).toBeGreaterThanOrEqual(20);
    for (const code of failures) expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(code);
    const entries = await streamEntries(cluster.urls.slice(1), "profgate");
    const nc = await connect({ servers: cluster.urls.slice(1) });
    const info = await (await jetstreamManager(nc, { timeout: 5000 })).streams.info("profgate");
    await nc.close();
    expect(info.config.num_replicas).toBe(3);
    const stored = new Set(
      entries.map((e) => (typeof e.record === "string" ? e.record : sha(e.record.payloads[0]!))),
    );
    const missing = acknowledged.filter((h) => !stored.has(h));
    expect(missing).toEqual([]);
    // Publishes retried while the stream's leader changed were kept once (Nats-Msg-Id): every
    // record the stream holds is a distinct request.
    expect(entries.length).toBe(stored.size);
    const first = entries[0]!.record;
    expect(typeof first).not.toBe("string");
    if (typeof first !== "string") {
      expect(first).toMatchObject({
        method: "WriteRaw",
        projectId: boot.projectId,
        organizationId: boot.organizationId,
      });
      expect(entries[0]!.subject).toBe(`profgate.${boot.organizationId}.${boot.projectId}.WriteRaw`);
    }
  }, 60_000);
});

describe("--sink jetstream on one server", () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let client: AgentClient;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await tempDir();
    nc = await connect({ servers: nats.url });
    // A stream this small refuses what does not fit, as a full stream would.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: "tiny",
      subjects: ["tiny.>"],
      max_bytes: 256 * 1024,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(60_000),
    });
    gateway = await startGateway(dir.path, [
      "--sink",
      "jetstream",
      "--nats-servers",
      nats.url,
      "--jetstream-publish-timeout",
      "1500ms",
      "--max-pending-bytes-per-client",
      "64MiB",
      "--max-pending-bytes-per-connection",
      "64MiB",
    ]);
    const boot = await readBootstrap(dir.path);
    client = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await gateway?.stop();
    await nc?.close();
    await nats?.stop();
    await dir?.remove();
  });

  it("publishes a 40 MiB record in parts that read back as the bytes sent", async () => {
    const ipc = encodeArrowV2({ payloadBytes: 40 * 1024 * 1024 });
    await client.writeArrow(ipc);
    const entries = await streamEntries([nats.url], "profgate");
    const big = entries.find((e) => typeof e.record !== "string" && e.record.method === "WriteArrow");
    expect(big).toBeDefined();
    const record = big!.record;
    if (typeof record === "string") throw new Error(record);
    expect(record.payloads).toHaveLength(1);
    expect(sha(record.payloads[0]!)).toBe(sha(ipc));
    // Parts: the server's max_payload (1 MiB by default) is far below 40 MiB.
    const info = await (await jetstreamManager(nc)).streams.info("profgate");
    expect(info.state.messages).toBeGreaterThanOrEqual(40);
    // The stream as the gateway created it: the retention the README documents.
    expect(info.config).toMatchObject({
      subjects: ["profgate.>", "profgate-dead-letters.>"],
      storage: "file",
      num_replicas: 1,
      max_age: nanos(7 * 86_400_000),
      max_bytes: 10 * 1024 ** 3,
      discard: "new",
      duplicate_window: nanos(120_000),
    });
    const samples = await metrics(gateway);
    expect(metricValue(samples, "profgate_jetstream_publishes_total", { result: "acked" })).toBe(1);
    // One record's publish latency, from its first part to its last part's ack.
    expect(metricValue(samples, "profgate_jetstream_publish_seconds_count")).toBe(1);
    expect(metricValue(samples, "profgate_jetstream_publish_seconds_sum")).toBeGreaterThan(0);
  }, 30_000);

  it("stores the OTLP signals, over gRPC and OTLP/HTTP, as records of their own methods", async () => {
    const boot = await readBootstrap(dir.path);
    const logs = Buffer.from([0x0a, 0x03, 0x1a, 0x01, 0x61]);
    await client.unaryRaw(METHOD_PATHS.ExportLogs, logs);
    const traces = Buffer.from([0x0a, 0x03, 0x1a, 0x01, 0x62]);
    const response = await fetch(`${gateway.otlpHttpUrl}/v1/traces`, {
      method: "POST",
      body: traces,
      headers: {
        "content-type": "application/x-protobuf",
        authorization: `Bearer ${boot.agentToken}`,
        projectid: boot.projectId,
      },
    });
    expect(response.status).toBe(200);
    const entries = await streamEntries([nats.url], "profgate");
    const otlp = entries.filter(
      (e) => e.subject.endsWith(".ExportLogs") || e.subject.endsWith(".ExportTraces"),
    );
    expect(
      otlp.map((e) => [
        e.subject,
        typeof e.record === "string" ? e.record : Buffer.from(e.record.payloads[0]!),
      ]),
    ).toEqual([
      [`profgate.${boot.organizationId}.${boot.projectId}.ExportLogs`, logs],
      [`profgate.${boot.organizationId}.${boot.projectId}.ExportTraces`, traces],
    ]);
  }, 20_000);

  it("stores a Write exchange as its sample and locations records, with their lengths", async () => {
    const ids = [randomStacktraceId(), randomStacktraceId()];
    const sample = encodeSampleRecord({ labels: { node: "node-a" }, stacktraceIds: ids });
    const locations = encodeLocationsRecord(ids);
    await client.write(sample, () => locations);
    const entries = await streamEntries([nats.url], "profgate");
    const write = entries.find((e) => typeof e.record !== "string" && e.record.method === "Write");
    const record = write?.record;
    if (record === undefined || typeof record === "string") throw new Error("no Write record in the stream");
    expect(record.payloads.map((p) => sha(p))).toEqual([sha(sample), sha(locations)]);
  }, 20_000);

  it("answers UNAVAILABLE to a write JetStream refuses, and keeps what it acked with the documented headers", async () => {
    const tinyDir = await tempDir();
    const tiny = await startGateway(tinyDir.path, [
      "--sink",
      "jetstream",
      "--nats-servers",
      nats.url,
      "--jetstream-stream",
      "tiny",
    ]);
    const boot = await readBootstrap(tinyDir.path);
    const agent = new AgentClient(tiny.target, { token: boot.agentToken, projectId: boot.projectId });
    try {
      const small = encodeArrowV2({ payloadBytes: 16 * 1024 });
      await agent.writeArrow(small);
      const refused = await agent
        .writeArrow(encodeArrowV2({ payloadBytes: 512 * 1024 }))
        .catch((e: unknown) => e);
      expect((refused as { code?: number }).code).toBe(status.UNAVAILABLE);
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info("tiny")).state.messages).toBe(1);
      const stored = await jsm.streams.getMessage("tiny", { seq: 1 });
      expect(sha(stored!.data)).toBe(sha(small));
      const h = stored!.header;
      expect(stored!.subject).toBe(`tiny.${boot.organizationId}.${boot.projectId}.WriteArrow`);
      expect(h.get("Profgate-Method")).toBe("WriteArrow");
      expect(h.get("Profgate-Organization")).toBe(boot.organizationId);
      expect(h.get("Profgate-Project")).toBe(boot.projectId);
      expect(h.get("Profgate-Service-Account")).toBe(boot.agentServiceAccountId);
      expect(h.get("Profgate-Token")).not.toBe("");
      expect(Number(h.get("Profgate-Received-At"))).toBeGreaterThan(Date.now() - 60_000);
      expect(h.get("Nats-Msg-Id")).not.toBe("");
      const secret = boot.agentToken.slice(-16);
      for (const [key, values] of h)
        for (const value of values) expect(`${key}: ${value}`).not.toContain(secret);
      const samples = await metrics(tiny);
      expect(metricValue(samples, "profgate_jetstream_publishes_total", { result: "failed" })).toBe(1);
      expect(metricValue(samples, "profgate_jetstream_publishes_total", { result: "acked" })).toBe(1);
      expect(await tiny.log()).toContain("JetStream refused");
    } finally {
      agent.close();
      await tiny.stop();
      await tinyDir.remove();
    }
  }, 20_000);

  it("lists the stream and replays it, records in parts joined, byte for byte", async () => {
    const boot = await readBootstrap(dir.path);
    const listed = await profgate(["spool", "ls", "--from", `${nats.url}/profgate`, "-o", "json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const report = JSON.parse(listed.stdout) as StreamReport;
    expect(report.projects).toEqual([
      { organizationId: boot.organizationId, projectId: boot.projectId, messages: report.messages },
    ]);
    const targetDir = await tempDir();
    const target = await startGateway(targetDir.path, [
      "--max-pending-bytes-per-client",
      "64MiB",
      "--max-pending-bytes-per-connection",
      "64MiB",
    ]);
    try {
      const targetBoot = await readBootstrap(targetDir.path);
      const replayed = await profgate([
        "replay",
        "--from",
        `${nats.url}/profgate`,
        "--target",
        target.target,
        "--token-file",
        join(targetDir.path, "agent.token"),
        "--project-map",
        `${boot.projectId}=${targetBoot.projectId}`,
        "--speed",
        "max",
        "-o",
        "json",
      ]);
      expect(replayed.code, replayed.stderr).toBe(0);
      const stored = await streamEntries([nats.url], "profgate");
      const records = await sinkRecords(targetDir.path, targetBoot.projectId);
      expect(records.map((r) => sha(r.payloads[0]!))).toEqual(
        stored.map((e) => (typeof e.record === "string" ? e.record : sha(e.record.payloads[0]!))),
      );
    } finally {
      await target.stop();
      await targetDir.remove();
    }
  }, 40_000);

  it("answers UNAVAILABLE when JetStream is unreachable, and is not ready", async () => {
    await nats.stop();
    const started = Date.now();
    const error = await client
      .writeRaw(rawRequest(1), { deadline: Date.now() + 10_000 })
      .catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(status.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(5000);
    await gateway.log((text) => text.includes("JetStream"));
    const deadline = Date.now() + 5000;
    let ready = await fetch(`${gateway.httpUrl}/readyz`);
    while (ready.status === 200 && Date.now() < deadline) {
      await sleep(200);
      ready = await fetch(`${gateway.httpUrl}/readyz`);
    }
    expect(ready.status).toBe(503);
    // OTLP/HTTP senders hear it as 503 with Retry-After, and retry.
    const boot = await readBootstrap(dir.path);
    const otlp = await fetch(`${gateway.otlpHttpUrl}/v1/logs`, {
      method: "POST",
      body: new Uint8Array(),
      headers: {
        "content-type": "application/x-protobuf",
        authorization: `Bearer ${boot.agentToken}`,
        projectid: boot.projectId,
      },
    });
    expect([otlp.status, otlp.headers.get("retry-after")]).toEqual([503, "1"]);
    const samples = await metrics(gateway);
    expect(metricValue(samples, "profgate_jetstream_up")).toBe(0);
    expect(
      metricValue(samples, "profgate_jetstream_publishes_total", { result: "failed" }),
    ).toBeGreaterThanOrEqual(1);
  }, 20_000);
});

describe("--sink jetstream and the server's max_payload", () => {
  it("splits records by the max_payload the server announces, not NATS' default", async () => {
    const dir = await tempDir();
    const config = join(dir.path, "nats.conf");
    await writeFile(config, "max_payload: 65536\n");
    const nats = await startNatsServer(["-c", config]);
    try {
      const gateway = await startGateway(join(dir.path, "data"), [
        "--sink",
        "jetstream",
        "--nats-servers",
        nats.url,
      ]);
      try {
        const boot = await readBootstrap(join(dir.path, "data"));
        const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
        const ipc = encodeArrowV2({ payloadBytes: 300 * 1024 });
        await agent.writeArrow(ipc);
        agent.close();
        const nc = await connect({ servers: nats.url });
        try {
          const jsm = await jetstreamManager(nc);
          const { state } = await jsm.streams.info("profgate");
          // Parts of at most 64 KiB - 4 KiB of data each: a 300 KiB record takes at least 5.
          const parts = Math.ceil(ipc.length / (64 * 1024 - 4096));
          expect(state.messages).toBe(parts);
          const last = await jsm.streams.getMessage("profgate", { seq: state.last_seq });
          expect(last!.header.get("Profgate-Part")).toBe(`${parts}/${parts}`);
          expect(last!.data.length).toBeLessThanOrEqual(64 * 1024 - 4096);
        } finally {
          await nc.close();
        }
        const [entry] = await streamEntries([nats.url], "profgate");
        if (entry === undefined || typeof entry.record === "string") throw new Error("no whole record");
        expect(sha(entry.record.payloads[0]!)).toBe(sha(ipc));
      } finally {
        await gateway.stop();
      }
    } finally {
      await nats.stop();
      await dir.remove();
    }
  }, 30_000);
});

/**
 * Starts a `--sink jetstream` gateway on `natsUrl` with `args`, pushes one WriteRaw and checks
 * that its publish was acked; returns the gateway, still running, and its /metrics text.
 */
async function pushedOnce(dataDir: string, natsUrl: string, args: string[]) {
  const gateway = await startGateway(dataDir, ["--sink", "jetstream", "--nats-servers", natsUrl, ...args]);
  try {
    const boot = await readBootstrap(dataDir);
    const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
    await agent.writeRaw(rawRequest(9));
    agent.close();
    const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    expect(metricValue(parseMetrics(text), "profgate_jetstream_publishes_total", { result: "acked" })).toBe(
      1,
    );
    return { gateway, text };
  } catch (error) {
    await gateway.stop();
    throw error;
  }
}

/** Why a `--sink jetstream` gateway on `natsUrl` that should not start did not (empty if it did). */
const whyNoStart = (dataDir: string, natsUrl: string) =>
  startGateway(dataDir, ["--sink", "jetstream", "--nats-servers", natsUrl])
    .then(async (gateway) => {
      await gateway.stop();
      return "";
    })
    .catch((error: unknown) => String(error));

describe("--sink jetstream with NATS credentials and TLS", () => {
  it("connects with TLS to a server whose certificate chains to --nats-tls-ca-file, and not without it", async () => {
    const dir = await tempDir();
    const ca = await createCa(dir.path, "nats");
    const server = await issue(dir.path, ca, "nats-server", "127.0.0.1");
    const nats = await startNatsServer(["--tls", "--tlscert", server.certFile, "--tlskey", server.keyFile]);
    try {
      const untrusted = await whyNoStart(join(dir.path, "a"), nats.url);
      expect(untrusted).toMatch(/Cannot connect to NATS/);
      const { gateway } = await pushedOnce(join(dir.path, "b"), nats.url, [
        "--nats-tls-ca-file",
        ca.certFile,
      ]);
      await gateway.stop();
    } finally {
      await nats.stop();
      await dir.remove();
    }
  }, 30_000);

  it("signs in with --nats-creds-file to a server in operator mode, and never shows the seed", async () => {
    const dir = await tempDir();
    const operator = await natsOperator(dir.path);
    const nats = await startNatsServer(["-c", operator.configFile]);
    try {
      const anonymous = await whyNoStart(join(dir.path, "a"), nats.url);
      expect(anonymous).toMatch(/Cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
      const { gateway, text } = await pushedOnce(join(dir.path, "b"), nats.url, [
        "--nats-creds-file",
        operator.credsFile,
      ]);
      try {
        expect(text).not.toContain(operator.seed);
        expect(await gateway.log()).not.toContain(operator.seed);
      } finally {
        await gateway.stop();
      }
    } finally {
      await nats.stop();
      await dir.remove();
    }
  }, 30_000);

  it("does not start with a wrong token, saying why, and never shows a token", async () => {
    const natsToken = "nats-secret-0123456789abcdef";
    const nats = await startNatsServer(["--auth", natsToken]);
    const dir = await tempDir();
    const right = join(dir.path, "right.token");
    const wrong = join(dir.path, "wrong.token");
    await writeFile(right, `${natsToken}\n`);
    await writeFile(wrong, "wrong-secret-fedcba9876543210\n");
    try {
      const refused = await startGateway(dir.path, [
        "--sink",
        "jetstream",
        "--nats-servers",
        nats.url,
        "--nats-token-file",
        wrong,
      ])
        .then(async (g) => {
          await g.stop();
          return "";
        })
        .catch((error: unknown) => String(error));
      expect(refused).toMatch(/Cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
      expect(refused).not.toContain("wrong-secret");
      const gateway = await startGateway(dir.path, [
        "--sink",
        "jetstream",
        "--nats-servers",
        nats.url,
        "--nats-token-file",
        right,
      ]);
      try {
        const boot = await readBootstrap(dir.path);
        const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
        await agent.writeRaw(rawRequest(7));
        agent.close();
        const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
        expect(
          metricValue(parseMetrics(text), "profgate_jetstream_publishes_total", { result: "acked" }),
        ).toBe(1);
        expect(text).not.toContain(natsToken);
        expect(await gateway.log()).not.toContain(natsToken);
      } finally {
        await gateway.stop();
      }
    } finally {
      await nats.stop();
      await dir.remove();
    }
  }, 30_000);
});
