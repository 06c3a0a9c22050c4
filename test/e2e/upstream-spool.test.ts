import { createHash } from "node:crypto";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import { WriteRawRequestSchema } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { inspectSpool, type SpoolReport } from "../../src/upstream/spool/inspect-spool.js";
import { profgate } from "../support/cli.js";
import { sinkRecords } from "../support/sink-contents.js";
import { type Hops, startHops } from "../support/upstream-hops.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One agent writing to one project, one call at a time, alternating WriteArrow and WriteRaw;
 * it logs, in order, the hash of what the core will store for each acknowledged write.
 */
function writer(client: AgentClient, project: string) {
  const acknowledged: string[] = [];
  const failures: Array<{ code: number; details: string }> = [];
  let stopped = false;
  let n = 0;
  const writeOne = async () => {
    n++;
    if (n % 2 === 0) {
      const ipc = encodeArrowV2({ payloadBytes: 8 * 1024 });
      await client.writeArrow(ipc);
      acknowledged.push(sha(ipc));
    } else {
      const request = create(WriteRawRequestSchema, {
        series: [
          {
            labels: {
              labels: [
                { name: "__name__", value: "parca_agent_cpu" },
                { name: "edge_project", value: project },
                { name: "seq", value: String(n) },
              ],
            },
            samples: [{ rawProfile: encodePprof({ seed: n }) }],
          },
        ],
      });
      await client.writeRaw(request);
      acknowledged.push(sha(toBinary(WriteRawRequestSchema, request)));
    }
  };
  const done = (async () => {
    while (!stopped) {
      try {
        await writeOne();
      } catch (error) {
        failures.push(error as { code: number; details: string });
        await sleep(20);
      }
    }
  })();
  return {
    acknowledged,
    failures,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** The hashes the core stored, in the core's order, keeping those in `wanted`. */
async function storedInOrder(hops: Hops, wanted: Set<string>): Promise<string[]> {
  const records = await sinkRecords(hops.coreDir, hops.coreBoot.projectId);
  return records.map((r) => sha(r.payloads[0]!)).filter((h) => wanted.has(h));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** What `profgate spool backlog -o json` prints. */
async function spoolReport(dataDir: string): Promise<SpoolReport> {
  const result = await profgate(["spool", "backlog", "--data-dir", dataDir, "-o", "json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as SpoolReport;
}

describe("the core down, with --spool", () => {
  let hops: Hops;
  const clients: AgentClient[] = [];
  const agentFor = (token: string, projectId: string) => {
    const c = new AgentClient(hops.edge.target, { token, projectId });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    hops = await startHops(["--spool", "--spool-max-backoff", "400ms", "--upstream-timeout", "2s"]);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await hops?.close();
  });

  it("acknowledges every write through an outage, then delivers each exactly as sent, in order per project", async () => {
    const projects = [
      { id: hops.edgeIam.projectId, token: hops.edgeIam.tokens.agent },
      { id: hops.edgeIam.otherProjectId, token: hops.edgeIam.tokens.otherProjectWriter },
    ];
    const writers = projects.map((p) => writer(agentFor(p.token, p.id), p.id));
    await sleep(400);
    const beforeOutage = writers.map((w) => w.acknowledged.length);
    await hops.core.stop("SIGTERM");
    await sleep(1000);
    const duringOutage = writers.map((w, i) => w.acknowledged.length - beforeOutage[i]!);
    const held = await inspectSpool(join(hops.edgeDir, "spool"));
    await hops.restartCore();
    await sleep(500);
    await Promise.all(writers.map((w) => w.stop()));

    for (const w of writers) expect(w.failures).toEqual([]);
    for (const n of duringOutage) expect(n).toBeGreaterThan(5);
    expect(held.projects.reduce((sum, p) => sum + p.records, 0)).toBeGreaterThan(5);

    const all = new Set(writers.flatMap((w) => w.acknowledged));
    const drainStarted = Date.now();
    await waitFor(
      async () => (await storedInOrder(hops, all)).length >= all.size,
      20_000,
      "the spool to drain",
    );
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    for (const w of writers) {
      const mine = new Set(w.acknowledged);
      expect(await storedInOrder(hops, mine)).toEqual(w.acknowledged);
    }
    // Nothing twice, nothing else: the core's sink holds exactly what was acknowledged.
    expect((await sinkRecords(hops.coreDir, hops.coreBoot.projectId)).length).toBe(all.size);
    const drained = await inspectSpool(join(hops.edgeDir, "spool"));
    expect(drained.projects.every((p) => p.records === 0)).toBe(true);
    expect(drained.deadLetters).toEqual([]);
    console.log(
      `acknowledged during a 1 s core outage: ${duringOutage.join(" + ")} writes (2 projects); ` +
        `${all.size} in all, the spool drained ${drainSeconds.toFixed(1)} s after the writers stopped`,
    );
  });

  it("delivers what the spool held when the edge was killed with SIGKILL, after a restart", async () => {
    const agent = agentFor(hops.edgeIam.tokens.agent, hops.edgeIam.projectId);
    await hops.core.stop("SIGKILL");
    const spooled: string[] = [];
    for (let i = 0; i < 20; i++) {
      const ipc = encodeArrowV2({ payloadBytes: 4 * 1024 });
      await agent.writeArrow(ipc);
      spooled.push(sha(ipc));
    }
    await hops.edge.stop("SIGKILL");
    const held = await spoolReport(hops.edgeDir);
    expect(held.projects.find((p) => p.projectId === hops.edgeIam.projectId)?.records).toBe(20);

    await hops.restartCore();
    await hops.restartEdge();
    const wanted = new Set(spooled);
    await waitFor(
      async () => (await storedInOrder(hops, wanted)).length >= spooled.length,
      15_000,
      "the spool to drain after the restart",
    );
    expect(await storedInOrder(hops, wanted)).toEqual(spooled);
    // Acknowledged-and-spooled, then recovered: accepted by the core as the edge's credential.
    const records = await sinkRecords(hops.coreDir, hops.coreBoot.projectId);
    expect(new Set(records.map((r) => r.serviceAccountId))).toEqual(
      new Set([hops.coreBoot.agentServiceAccountId]),
    );
  });
});
