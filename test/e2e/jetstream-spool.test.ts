import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import { WriteRawRequestSchema } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import type { StreamReport } from "../../src/jetstream/inspect-stream.js";
import { METHOD_PATHS, OTLP_METHODS } from "../../src/record-log/record.js";
import { profgate } from "../support/cli.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { type PreparedIam, prepareIam } from "../support/prepare-iam.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";
import { edgeArgs, type Hops, startHops } from "../support/upstream-hops.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One agent writing WriteRaw to one project, one call at a time, logging the hash of each acknowledged request. */
function writer(client: AgentClient, tag: string) {
  const acknowledged: string[] = [];
  let failures = 0;
  let stopped = false;
  let n = 0;
  const done = (async () => {
    while (!stopped) {
      const request = create(WriteRawRequestSchema, {
        series: [
          {
            labels: {
              labels: [
                { name: "__name__", value: "parca_agent_cpu" },
                { name: "writer", value: tag },
                { name: "seq", value: String(++n) },
              ],
            },
            samples: [{ rawProfile: encodePprof({ seed: n }) }],
          },
        ],
      });
      try {
        await client.writeRaw(request, { deadline: Date.now() + 5000 });
        acknowledged.push(sha(toBinary(WriteRawRequestSchema, request)));
      } catch {
        failures++;
        await sleep(20);
      }
    }
  })();
  return {
    acknowledged,
    failures: () => failures,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** What `profgate spool backlog --from nats://.../profgate -o json` prints. */
async function backlog(url: string): Promise<StreamReport> {
  const result = await profgate(["spool", "backlog", "--from", `${url}/profgate`, "-o", "json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StreamReport;
}

async function metric(gateway: GatewayProcess, name: string): Promise<number> {
  return metricValue(parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text()), name);
}

describe("two edges with --spool jetstream forwarding to a core", () => {
  let nats: NatsServer;
  let hops: Hops;
  let edgeB: GatewayProcess;
  let edgeBIam: PreparedIam;
  let edgeBDir: Awaited<ReturnType<typeof tempDir>>;
  const clients: AgentClient[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
    const spoolArgs = [
      "--spool",
      "jetstream",
      "--nats-servers",
      nats.url,
      "--spool-max-backoff",
      "400ms",
      "--upstream-timeout",
      "2s",
    ];
    hops = await startHops(spoolArgs);
    edgeBDir = await tempDir("profgate-edge-b-");
    edgeBIam = await prepareIam(edgeBDir.path);
    edgeB = await startGateway(edgeBDir.path, [
      ...edgeArgs(hops.core.target, hops.coreDir, hops.coreBoot.projectId),
      ...spoolArgs,
    ]);
  }, 40_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await edgeB?.stop("SIGKILL");
    await hops?.close();
    await edgeBDir?.remove();
    await nats?.stop();
  });

  it("acknowledges through a core outage and a killed edge, then delivers every write once, in order per project", async () => {
    const a = new AgentClient(hops.edge.target, {
      token: hops.edgeIam.tokens.agent,
      projectId: hops.edgeIam.projectId,
    });
    const b = new AgentClient(edgeB.target, { token: edgeBIam.tokens.agent, projectId: edgeBIam.projectId });
    clients.push(a, b);
    const writers = [writer(a, "a"), writer(b, "b")];
    await sleep(500);
    await hops.core.stop("SIGTERM");
    const atOutage = writers.map((w) => w.acknowledged.length);
    await sleep(1500);
    // The core is down, yet both edges go on acknowledging: JetStream holds the writes.
    for (const [i, w] of writers.entries()) expect(w.acknowledged.length - atOutage[i]!).toBeGreaterThan(10);
    await hops.edge.stop("SIGKILL");
    await Promise.all(writers.map((w) => w.stop()));
    const waiting = await backlog(nats.url);
    expect(waiting.forwarding!.pending + waiting.forwarding!.unacknowledged).toBeGreaterThan(20);
    await hops.restartCore();
    const drainStarted = Date.now();

    const wanted = writers.map((w) => new Set(w.acknowledged));
    const everything = new Set(writers.flatMap((w) => w.acknowledged));
    let stored: string[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      stored = (await sinkRecords(hops.coreDir, hops.coreBoot.projectId)).map((r) => sha(r.payloads[0]!));
      const have = new Set(stored);
      if ([...everything].every((h) => have.has(h)) || Date.now() > deadline) break;
      await sleep(250);
    }
    const seconds = (Date.now() - drainStarted) / 1000;
    console.log(
      `${waiting.forwarding!.pending + waiting.forwarding!.unacknowledged} JetStream messages delivered within ${seconds.toFixed(2)} s of the core's restart (its start included)`,
    );
    // Every acknowledged write reached the core, once, in the order its edge acknowledged it.
    expect([...everything].filter((h) => !stored.includes(h))).toEqual([]);
    expect(stored.length).toBe(new Set(stored).size);
    for (const [i, w] of writers.entries()) {
      expect(stored.filter((h) => wanted[i]!.has(h))).toEqual(w.acknowledged);
    }
    expect(await metric(edgeB, "profgate_jetstream_forwarded_total")).toBeGreaterThan(0);
    expect(await metric(edgeB, "profgate_jetstream_redeliveries_total")).toBeGreaterThan(0);
    let backlogGauge = await metric(edgeB, "profgate_jetstream_backlog_messages");
    for (let i = 0; i < 20 && backlogGauge !== 0; i++) {
      await sleep(250);
      backlogGauge = await metric(edgeB, "profgate_jetstream_backlog_messages");
    }
    expect(backlogGauge).toBe(0);
    const drained = await backlog(nats.url);
    expect(drained.forwarding).toEqual({ pending: 0, unacknowledged: 0, redelivered: expect.any(Number) });
    expect(drained.deadLetters).toBe(0);
  }, 60_000);

  it("forwards the OTLP Exports through the stream, as the bytes the agent sent", async () => {
    const b = new AgentClient(edgeB.target, { token: edgeBIam.tokens.agent, projectId: edgeBIam.projectId });
    clients.push(b);
    const sent = OTLP_METHODS.map((method) => {
      const tag = Buffer.from(`jetstream-${method}`);
      const inner = Buffer.concat([Buffer.from([0x1a, tag.length]), tag]);
      return { method, body: Buffer.concat([Buffer.from([0x0a, inner.length]), inner]) };
    });
    const published = await metric(edgeB, "profgate_jetstream_publishes_total");
    for (const { method, body } of sent) await b.unaryRaw(METHOD_PATHS[method], body);
    // Each went through JetStream: published there first, then delivered by a forwarding worker.
    expect((await metric(edgeB, "profgate_jetstream_publishes_total")) - published).toBe(sent.length);
    const wanted = new Map(sent.map(({ method, body }) => [sha(body), method]));
    const deadline = Date.now() + 15_000;
    let held = new Map<string, string>();
    while ([...wanted.keys()].some((h) => !held.has(h)) && Date.now() < deadline) {
      await sleep(200);
      const records = await sinkRecords(hops.coreDir, hops.coreBoot.projectId);
      held = new Map(records.map((r) => [sha(r.payloads[0]!), r.method]));
    }
    for (const [digest, method] of wanted) expect(held.get(digest)).toBe(method);
  }, 30_000);

  it("moves what the upstream refuses for good to the dead letters and delivers what follows", async () => {
    const b = new AgentClient(edgeB.target, { token: edgeBIam.tokens.agent, projectId: edgeBIam.projectId });
    clients.push(b);
    // The edge forwards bytes as they are; the core is the one that reads them and refuses.
    await b.writeArrow(Buffer.from("not an arrow stream"));
    const after = encodeArrowV2({ payloadBytes: 4096 });
    await b.writeArrow(after);
    const deadline = Date.now() + 15_000;
    let stored: string[] = [];
    while (!stored.includes(sha(after)) && Date.now() < deadline) {
      await sleep(200);
      stored = (await sinkRecords(hops.coreDir, hops.coreBoot.projectId)).map((r) => sha(r.payloads[0]!));
    }
    expect(stored).toContain(sha(after));
    expect(await metric(edgeB, "profgate_jetstream_dead_letters_total")).toBe(1);
    const report = await backlog(nats.url);
    expect(report.deadLetters).toBe(1);
    expect(await edgeB.log((text) => text.includes("moved to the dead letters"))).toContain(
      "moved to the dead letters",
    );
  }, 30_000);
});
