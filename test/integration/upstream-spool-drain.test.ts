import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import {
  WriteArrowRequestSchema,
  WriteRawRequestSchema,
} from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { deliverSpooled } from "../../src/upstream/deliver-spooled.js";
import { inspectSpool } from "../../src/upstream/spool/inspect-spool.js";
import { Spool } from "../../src/upstream/spool/spool.js";
import { SpoolDrainer } from "../../src/upstream/spool/spool-drainer.js";
import type { SpooledCall } from "../../src/upstream/spool/spooled-call.js";
import { UpstreamClient } from "../../src/upstream/upstream-client.js";
import { loadFlags } from "../../src/config/load-flags.js";
import { SERVE_FLAGS } from "../../src/config/serve-flags.js";
import { startGateway } from "../../src/main.js";
import { inProcessGateway } from "../support/in-process-gateway.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const EDGE_A = "3f0c2a4e-7b1d-4c8e-9a2f-0d5e6b7c8a91";
const EDGE_B = "b21e8f70-44a3-4e0b-8c6d-9f1a2b3c4d5e";
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let n = 0;
/** The `projectid` the spooled calls were accepted for upstream. */
let upstreamProjectId = "";
function arrowCall(projectId: string, ipcBuffer: Uint8Array = encodeArrowV2()): SpooledCall {
  return {
    organizationId: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    projectId,
    serviceAccountId: "edge-sa",
    tokenId: "edge-token",
    method: "WriteArrow",
    receivedAt: Date.now() + n++,
    upstreamProjectId,
    request: toBinary(WriteArrowRequestSchema, create(WriteArrowRequestSchema, { ipcBuffer })),
  };
}
function rawCall(projectId: string): SpooledCall {
  const request = create(WriteRawRequestSchema, {
    series: [
      {
        labels: {
          labels: [
            { name: "__name__", value: "cpu" },
            { name: "seq", value: String(n) },
          ],
        },
        samples: [{ rawProfile: encodePprof({ seed: n }) }],
      },
    ],
  });
  return { ...arrowCall(projectId), method: "WriteRaw", request: toBinary(WriteRawRequestSchema, request) };
}
/** What the core stores for a call: WriteArrow's ipc_buffer, WriteRaw's whole request. */
const stored = (c: SpooledCall, ipc?: Uint8Array) => sha(c.method === "WriteArrow" ? ipc! : c.request);

function logLines() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString("utf8")));
        done();
      },
    }),
  );
  return { log, lines };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(20);
  }
}

describe("the spool drainer against a real upstream", () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(target: string, token: string, projectId: string, maxBackoffMs = 100) {
    upstreamProjectId = projectId;
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const spool = await Spool.open({ dir: dir.path, maxBytes: 1 << 30 });
    cleanups.push(() => spool.close());
    const client = new UpstreamClient({
      address: target,
      insecure: true,
      bearerToken: token,
      headers: { projectid: projectId },
      timeoutMs: 5000,
    });
    cleanups.push(() => client.close());
    const { log, lines } = logLines();
    const drainer = new SpoolDrainer({ spool, deliver: deliverSpooled(client), log, maxBackoffMs });
    cleanups.push(() => drainer.close());
    return { dir: dir.path, spool, drainer, lines, client };
  }

  it("delivers per project in order, moves what the upstream refuses to the dead letters, and goes on", async () => {
    const core = await inProcessGateway();
    cleanups.push(core.close);
    const { dir, spool, drainer, lines } = await setUp(
      core.target,
      core.boot.agentToken,
      core.boot.projectId,
    );
    const expected = new Map<string, string[]>([
      [EDGE_A, []],
      [EDGE_B, []],
    ]);
    const COUNT = 200;
    for (let i = 0; i < COUNT; i++) {
      const ipc = encodeArrowV2({ payloadBytes: 4096 });
      const a = arrowCall(EDGE_A, ipc);
      await spool.append(a);
      expected.get(EDGE_A)!.push(stored(a, ipc));
      if (i === 50) await spool.append(arrowCall(EDGE_A, Buffer.from("not an arrow stream")));
      if (i % 4 === 0) {
        const b = rawCall(EDGE_B);
        await spool.append(b);
        expected.get(EDGE_B)!.push(stored(b));
      }
    }
    const total = spool.stats().backlogRecords;
    const started = Date.now();
    drainer.start();
    await until(() => spool.stats().backlogRecords === 0, 30_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `drained ${total} spooled records (2 projects) in ${seconds.toFixed(2)} s: ${(total / seconds).toFixed(0)} records/s`,
    );

    const coreHashes = (await sinkRecords(core.dataDir, core.boot.projectId)).map((r) => sha(r.payloads[0]!));
    for (const [, hashes] of expected) {
      const mine = new Set(hashes);
      expect(coreHashes.filter((h) => mine.has(h))).toEqual(hashes);
    }
    expect(coreHashes).toHaveLength(total - 1);
    expect(spool.stats()).toMatchObject({ backlogRecords: 0, deadLetters: 1, delivered: total - 1 });
    const report = await inspectSpool(dir);
    expect(report.deadLetters).toHaveLength(1);
    expect(report.deadLetters[0]).toMatchObject({ projectId: EDGE_A, method: "WriteArrow" });
    expect(report.deadLetters[0]!.reason).toMatchObject({ code: status.INVALID_ARGUMENT, attempts: 1 });
    expect(lines.some((l) => l.level === 40 && l.msg.includes("moved to the dead letters"))).toBe(true);
  });

  it("waits with backoff while the upstream is unreachable and delivers as soon as it is back", async () => {
    const port = await freePort();
    // The core's credential must exist before it starts: bootstrap it once, then stop it.
    const first = await inProcessGateway();
    await first.gateway.close();
    cleanups.push(() => rm(first.dataDir, { recursive: true, force: true }));
    const { spool, drainer, lines, client } = await setUp(
      `127.0.0.1:${port}`,
      first.boot.agentToken,
      first.boot.projectId,
      200,
    );
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ipc = encodeArrowV2();
      await spool.append(arrowCall(EDGE_A, ipc));
      expected.push(sha(ipc));
    }
    drainer.start();
    await sleep(800);
    expect(spool.stats()).toMatchObject({ backlogRecords: 5, delivered: 0, deadLetters: 0 });
    expect(lines.some((l) => l.msg.includes("spooled records wait and are retried"))).toBe(true);
    expect(["TRANSIENT_FAILURE", "CONNECTING", "IDLE"]).toContain(client.connectivity());

    const config = loadFlags(
      SERVE_FLAGS,
      [
        `--grpc-address=127.0.0.1:${port}`,
        "--admin-address=127.0.0.1:0",
        "--http-address=127.0.0.1:0",
        "--console-address=127.0.0.1:0",
        "--otlp-http-address=127.0.0.1:0",
        `--data-dir=${first.dataDir}`,
      ],
      {},
    );
    const core = await startGateway(config, pino({ level: "silent" }));
    cleanups.push(() => core.close());
    const back = Date.now();
    await until(() => spool.stats().backlogRecords === 0, 10_000);
    expect(Date.now() - back).toBeLessThan(3000);
    expect(client.connectivity()).toBe("READY");
    const coreHashes = (await sinkRecords(first.dataDir, first.boot.projectId)).map((r) =>
      sha(r.payloads[0]!),
    );
    expect(coreHashes).toEqual(expected);
  });

  it("keeps records the upstream refuses for the gateway's credential, and says so at error level", async () => {
    const core = await inProcessGateway();
    cleanups.push(core.close);
    // A valid token, pinned to a project the core does not know: PERMISSION_DENIED on every call.
    const { spool, drainer, lines } = await setUp(
      core.target,
      core.boot.agentToken,
      "00000000-0000-4000-8000-000000000000",
    );
    await spool.append(arrowCall(EDGE_A));
    drainer.start();
    await until(() => lines.some((l) => l.level === 50), 5000);
    await sleep(300);
    expect(spool.stats()).toMatchObject({ backlogRecords: 1, deadLetters: 0, delivered: 0 });
    expect(lines.find((l) => l.level === 50)!.msg).toMatch(/refuses the gateway's credential/);
  });
});
