import { randomBytes } from "node:crypto";
import type { EventEmitter } from "node:events";
import { type ClientHttp2Session, constants } from "node:http2";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { WriteArrowRequestSchema } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { METHOD_PATHS } from "../../src/record-log/record.js";
import { iamJson, profgate } from "../support/cli.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { grpcFrame } from "../support/raw-grpc.js";
import { grpcHeaders, http2Session, rawHttp2Call } from "../support/raw-http2.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const KiB = 1024;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: status.OK, details: "" }),
    (e: { code: number; details: string }) => ({ code: e.code, details: e.details }),
  );

describe("limits", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const fresh = async (args: string[] = [], dataDir?: string, bootDir?: string) => {
    const dir = dataDir ?? (await tempDir()).path;
    if (!dataDir)
      cleanups.push(() =>
        import("node:fs/promises").then((fs) => fs.rm(dir, { recursive: true, force: true })),
      );
    const gateway = await startGateway(dir, args);
    cleanups.push(() => gateway.stop("SIGKILL"));
    return { gateway, dir, boot: await readBootstrap(bootDir ?? dir) };
  };
  const agentFor = (
    gateway: GatewayProcess,
    token: string,
    projectId: string,
    options: Record<string, unknown> = {},
  ) => {
    const agent = new AgentClient(gateway.target, { token, projectId }, undefined, options);
    cleanups.push(async () => agent.close());
    return agent;
  };

  it("limits a project's ingestion bytes per second, naming the limit, and takes per-project overrides", async () => {
    const { gateway, dir, boot } = await fresh([
      "--rate-limit-bytes-per-second",
      "64KiB",
      "--rate-limit-burst-bytes",
      "0",
    ]);
    const agent = agentFor(gateway, boot.agentToken, boot.projectId);
    const payload = () => encodeArrowV2({ payloadBytes: 30 * KiB });
    const results = await Promise.all(
      [payload(), payload(), payload()].map((p) => codeOf(agent.writeArrow(p))),
    );
    expect(results.map((r) => r.code).sort()).toEqual([status.OK, status.OK, status.RESOURCE_EXHAUSTED]);
    const limited = results.find((r) => r.code === status.RESOURCE_EXHAUSTED)!;
    expect(limited.details).toMatch(/over its ingestion rate limit of 65536 bytes\/s/);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await codeOf(agent.writeArrow(payload()))).code).toBe(status.OK);
    const huge = await codeOf(agent.writeArrow(encodeArrowV2({ payloadBytes: 100 * KiB })));
    expect(huge.code).toBe(status.INVALID_ARGUMENT);
    // The OTLP Exports draw on the same bucket: 60 KiB more within the second is refused.
    const text = Buffer.alloc(60 * KiB, 0x61);
    const inner = Buffer.concat([Buffer.from([0x1a, 0x80, 0xe0, 0x03]), text]);
    const logs = Buffer.concat([Buffer.from([0x0a, 0x84, 0xe0, 0x03]), inner]);
    const otlp = await codeOf(agent.unaryRaw(METHOD_PATHS.ExportLogs, logs));
    expect(otlp.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(otlp.details).toMatch(/over its ingestion rate limit of 65536 bytes\/s/);
    expect((await sinkRecords(dir, boot.projectId)).length).toBe(3);

    const set = await profgate([
      "iam",
      "projects",
      "set-limits",
      boot.projectId,
      "--bytes-per-second",
      "1MiB",
      "--burst",
      "1MiB",
      "--server",
      gateway.adminTarget,
      "--token-file",
      join(dir, "owner.token"),
    ]);
    expect(set.stdout).toContain("limited to 1048576 bytes/s with a burst of 1048576 bytes");
    for (let i = 0; i < 5; i++) expect((await codeOf(agent.writeArrow(payload()))).code).toBe(status.OK);
    const projects = await iamJson<Array<Record<string, string>>>(
      gateway.adminTarget,
      join(dir, "owner.token"),
      ["projects", "list"],
    );
    expect(projects[0]).toMatchObject({ rateLimitBytesPerSecond: "1048576" });
  });

  it("shares the rate limit across replicas on Redis", async () => {
    const redis: RedisServer = await startRedisServer();
    cleanups.push(() => redis.stop());
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const flags = [
      "--redis-url",
      redis.url,
      "--rate-limit-bytes-per-second",
      "1KiB",
      "--rate-limit-burst-bytes",
      "99KiB",
    ];
    const a = await fresh(flags, join(dir.path, "a"));
    const b = await fresh(flags, join(dir.path, "b"), join(dir.path, "a"));
    const payload = () => encodeArrowV2({ payloadBytes: 60 * KiB });
    expect(
      (await codeOf(agentFor(a.gateway, a.boot.agentToken, a.boot.projectId).writeArrow(payload()))).code,
    ).toBe(status.OK);
    expect(
      (await codeOf(agentFor(b.gateway, a.boot.agentToken, a.boot.projectId).writeArrow(payload()))).code,
    ).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("refuses a message above the receive limit with INVALID_ARGUMENT, never RESOURCE_EXHAUSTED", async () => {
    const { gateway, boot } = await fresh();
    const agent = agentFor(gateway, boot.agentToken, boot.projectId, {
      "grpc.max_send_message_length": 128 * 1024 * 1024,
    });
    const result = await codeOf(agent.writeArrow(Buffer.alloc(65 * 1024 * 1024, 1)));
    expect(result.code).toBe(status.INVALID_ARGUMENT);
    expect(result.details).toMatch(/larger than the gateway's limit of 67108864 bytes/);
    expect((await codeOf(agent.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
  });

  it("cools down an address after a burst of failed authentications, without asking the store, valid tokens unaffected", async () => {
    const { gateway, boot } = await fresh(["--auth-failure-burst", "5", "--auth-failure-cooldown", "2s"]);
    const valid = agentFor(gateway, boot.agentToken, boot.projectId);
    expect((await codeOf(valid.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
    const junk = () => agentFor(gateway, `psc_v1_${randomBytes(32).toString("hex")}`, boot.projectId);
    for (let i = 0; i < 5; i++)
      expect((await codeOf(junk().writeArrow(encodeArrowV2()))).code).toBe(status.UNAUTHENTICATED);
    const misses = async () =>
      metricValue(
        parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text()),
        "profgate_auth_cache_events_total",
        {
          event: "miss",
        },
      );
    const before = await misses();
    for (let i = 0; i < 20; i++) {
      const refused = await codeOf(junk().writeArrow(encodeArrowV2()));
      expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(refused.details).toMatch(/Too many failed authentications from this address/);
    }
    expect(await misses()).toBe(before);
    expect((await codeOf(valid.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await codeOf(junk().writeArrow(encodeArrowV2()))).code).toBe(status.UNAUTHENTICATED);
  });

  it("cuts off an address that opens and abandons streams: its connections closed, new ones refused for the cool-down, other addresses unaffected", async () => {
    const { gateway, boot } = await fresh([
      "--abandoned-stream-burst",
      "5",
      "--abandoned-stream-cooldown",
      "2s",
    ]);
    const ABUSER = "127.0.0.3";
    const headers = grpcHeaders("/parca.profilestore.v1alpha1.ProfileStoreService/WriteArrow", {
      authorization: `Bearer ${boot.agentToken}`,
      projectid: boot.projectId,
    });
    const arrowFrame = () =>
      grpcFrame(
        toBinary(WriteArrowRequestSchema, create(WriteArrowRequestSchema, { ipcBuffer: encodeArrowV2() })),
      );
    const scrape = async () => parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
    // A cut-off may reset a connection rather than end it: `once` would reject on that error, while
    // what matters here is that it closed.
    const closeOf = (emitter: EventEmitter) =>
      new Promise<void>((resolve) => emitter.once("close", () => resolve()));
    // Four streams opened with valid headers and cancelled before their message: under the burst.
    const abandon = async (session: ClientHttp2Session, count: number) => {
      for (let i = 0; i < count; i++) {
        const stream = session.request(headers, { endStream: false });
        stream.on("error", () => {});
        // Let the gateway start the call before the cancel.
        await new Promise((r) => setTimeout(r, 50));
        stream.close(constants.NGHTTP2_CANCEL);
        await closeOf(stream);
      }
    };
    const first = await http2Session(gateway.target, ABUSER);
    const held = await http2Session(gateway.target, ABUSER);
    await abandon(first, 4);
    // A complete call from the same address is no strike.
    const ok = await rawHttp2Call(first, headers, [arrowFrame()]);
    expect(ok.grpcStatus).toBe(status.OK);
    await abandon(first, 1);
    // The fifth abandoned stream closed both of the address's connections...
    await Promise.all([first.closed || closeOf(first), held.closed || closeOf(held)]);
    // ...and a new one is refused at once, while another address pushes as before.
    const refused = netConnect({
      host: "127.0.0.1",
      port: Number(gateway.target.split(":")[1]),
      localAddress: ABUSER,
    });
    let bytes = 0;
    refused.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    refused.on("error", () => {});
    await closeOf(refused);
    expect(bytes).toBe(0);
    const agent = agentFor(gateway, boot.agentToken, boot.projectId);
    expect((await codeOf(agent.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
    const metrics = await scrape();
    expect(metricValue(metrics, "profgate_peer_cutoffs_total", { reason: "abandoned_streams" })).toBe(1);
    expect(metricValue(metrics, "profgate_grpc_connections_refused_total")).toBe(1);
    expect(metricValue(metrics, "profgate_grpc_connections")).toBe(1);
    expect(await gateway.log((log) => log.includes("abandoned too many streams"))).toMatch(
      /"address":"127\.0\.0\.3","closedConnections":2,"burst":5.*abandoned too many streams: closed its connections, refusing new ones for 2s/,
    );
    // After the cool-down the address is served again.
    await new Promise((r) => setTimeout(r, 2100));
    const again = await http2Session(gateway.target, ABUSER);
    expect((await rawHttp2Call(again, headers, [arrowFrame()])).grpcStatus).toBe(status.OK);
    again.destroy();
  });

  it("restricts a service account's tokens to its CIDR ranges", async () => {
    const { gateway, dir, boot } = await fresh();
    const agent = agentFor(gateway, boot.agentToken, boot.projectId);
    const allow = (cidrs: string) =>
      profgate([
        "iam",
        "service-accounts",
        "set-allowed-cidrs",
        boot.agentServiceAccountId,
        "--cidrs",
        cidrs,
        "--server",
        gateway.adminTarget,
        "--token-file",
        join(dir, "owner.token"),
      ]);
    expect((await allow("10.0.0.0/8,2001:db8::/32")).code).toBe(0);
    const refused = await codeOf(agent.writeArrow(encodeArrowV2()));
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.details).toMatch(/may not be used from this network address/);
    expect((await allow("10.0.0.0/8,127.0.0.0/8")).code).toBe(0);
    expect((await codeOf(agent.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
    expect((await allow("")).stdout).toMatch(/work from any address/);
    expect((await allow("not-a-cidr")).stderr).toMatch(/not a CIDR range/);
  });

  it("sheds new writes with UNAVAILABLE (OTLP/HTTP: 503) above the memory soft limit, and stays up", async () => {
    const { gateway, boot } = await fresh(["--memory-soft-limit", "1"]);
    await new Promise((r) => setTimeout(r, 400));
    const agent = agentFor(gateway, boot.agentToken, boot.projectId);
    const shed = await codeOf(agent.writeArrow(encodeArrowV2()));
    expect(shed.code).toBe(status.UNAVAILABLE);
    expect(shed.details).toMatch(/low on memory/);
    // The OTLP/HTTP listener sheds too, before reading the body.
    const otlp = await fetch(`${gateway.otlpHttpUrl}/v1/traces`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${boot.agentToken}`,
        projectid: boot.projectId,
      },
      body: "{}",
    });
    expect(otlp.status).toBe(503);
    expect(otlp.headers.get("retry-after")).toBe("1");
    expect(await otlp.json()).toEqual({ code: 14, message: expect.stringMatching(/low on memory/) });
    expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    expect(await gateway.log((text) => text.includes("memory above the soft limit"))).toContain(
      "memory above the soft limit",
    );
    expect(await (await fetch(`${gateway.httpUrl}/metrics`)).text()).toMatch(/^profgate_memory_shedding 1$/m);
  });

  it("refuses calls with an absurd amount of metadata", async () => {
    const { gateway, boot } = await fresh();
    const headers = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`x-extra-${i}`, "v"]));
    const agent = new AgentClient(gateway.target, {
      token: boot.agentToken,
      projectId: boot.projectId,
      headers,
    });
    cleanups.push(async () => agent.close());
    const refused = await codeOf(agent.writeArrow(encodeArrowV2()));
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toMatch(/at most 64 metadata entries/);
    void Metadata;
  });

  it("lets a client send 2 MiB per call and 8 MiB per connection ahead of acknowledgements, or what the flags say", async () => {
    const granted = async (gateway: GatewayProcess) => {
      const session = await http2Session(gateway.target);
      await new Promise<void>((resolve, reject) => session.ping((e) => (e ? reject(e) : resolve())));
      const windows = {
        stream: session.remoteSettings.initialWindowSize,
        connection: session.state.remoteWindowSize,
      };
      session.destroy();
      return windows;
    };
    const { gateway } = await fresh();
    expect(await granted(gateway)).toEqual({ stream: 2 * 1024 * 1024, connection: 8 * 1024 * 1024 });
    const tuned = await fresh(["--http2-stream-window", "512KiB", "--http2-connection-window", "32MiB"]);
    expect(await granted(tuned.gateway)).toEqual({ stream: 512 * 1024, connection: 32 * 1024 * 1024 });
    const refused = await profgate(["serve", "--http2-stream-window", "1KiB"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--http2-stream-window.*between 64KiB and 2GiB/);
  });
});

describe("limits that need no gateway restart", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => dir?.remove());
  it("documents every limit flag in serve --help", async () => {
    const help = await profgate(["serve", "--help"]);
    for (const flag of [
      "--rate-limit-bytes-per-second",
      "--rate-limit-burst-bytes",
      "--auth-failure-burst",
      "--auth-failure-cooldown",
      "--abandoned-stream-burst",
      "--abandoned-stream-cooldown",
      "--peer-ipv6-prefix",
      "--memory-soft-limit",
      "--max-pending-bytes",
      "--max-pending-bytes-per-client",
      "--max-pending-bytes-per-connection",
      "--max-open-uploads",
      "--max-open-uploads-per-account",
      "--debuginfo-quota-bytes",
      "--max-concurrent-streams",
      "--http2-stream-window",
      "--http2-connection-window",
      "--max-connection-idle",
      "--upload-timeout",
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });
});
