import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { METHOD_PATHS, OTLP_METHODS, type OtlpMethod } from "../../src/record-log/record.js";
import { profgate } from "../support/cli.js";
import { readBootstrap, startGateway } from "../support/gateway-process.js";
import { sinkRecords } from "../support/sink-contents.js";
import { type Hops, startHops } from "../support/upstream-hops.js";
import { tempDir } from "../support/temp-dir.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A well-formed Export*ServiceRequest envelope: one resource entry holding `tag`. */
function envelope(tag: string): Buffer {
  const inner = Buffer.concat([Buffer.from([0x1a, tag.length]), Buffer.from(tag)]);
  return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("OTLP through an edge gateway: forwarded, spooled and replayed as bytes", () => {
  let hops: Hops;
  let agent: AgentClient;
  const sent = new Map<string, OtlpMethod>();

  beforeAll(async () => {
    hops = await startHops(["--spool"]);
    agent = new AgentClient(hops.edge.target, {
      token: hops.edgeIam.tokens.agent,
      projectId: hops.edgeIam.projectId,
    });
  });
  afterAll(async () => {
    agent?.close();
    await hops?.close();
  });

  const push = async (method: OtlpMethod, tag: string) => {
    const body = envelope(tag);
    await agent.unaryRaw(METHOD_PATHS[method], body);
    sent.set(sha(body), method);
  };
  const coreHolds = async () => {
    const records = await sinkRecords(hops.coreDir, hops.coreBoot.projectId);
    return new Map(records.map((r) => [sha(r.payloads[0]!), r.method]));
  };

  it("forwards every signal, over gRPC and OTLP/HTTP; the core stores the bytes the agent sent", async () => {
    for (const method of OTLP_METHODS) await push(method, `up-${method}`);
    const overHttp = envelope("over-http");
    const response = await fetch(`${hops.edge.otlpHttpUrl}/v1/logs`, {
      method: "POST",
      body: overHttp as unknown as BodyInit,
      headers: {
        "content-type": "application/x-protobuf",
        authorization: `Bearer ${hops.edgeIam.tokens.agent}`,
        projectid: hops.edgeIam.projectId,
      },
    });
    expect(response.status).toBe(200);
    sent.set(sha(overHttp), "ExportLogs");
    const held = await coreHolds();
    for (const [digest, method] of sent) expect(held.get(digest)).toBe(method);
  });

  it("spools every signal while the core is down, and delivers each once it is back", async () => {
    await hops.core.stop("SIGTERM");
    for (const method of OTLP_METHODS) await push(method, `down-${method}`);
    await hops.restartCore();
    await waitFor(async () => (await coreHolds()).size >= sent.size, 20_000, "the spool to drain");
    const held = await coreHolds();
    expect(held.size).toBe(sent.size);
    for (const [digest, method] of sent) expect(held.get(digest)).toBe(method);
    const ls = await profgate(["spool", "ls", "--data-dir", hops.coreDir, "--newest", "20"]);
    for (const method of OTLP_METHODS) expect(ls.stdout).toContain(method);
  });

  it("replays what the core stored to another gateway, byte for byte", async () => {
    const target = await tempDir();
    const gateway = await startGateway(target.path);
    try {
      const boot = await readBootstrap(target.path);
      const replay = await profgate([
        "replay",
        "--from",
        hops.coreDir,
        "--target",
        gateway.target,
        "--token-file",
        join(target.path, "agent.token"),
        "--project-map",
        `${hops.coreBoot.projectId}=${boot.projectId}`,
        "--speed",
        "max",
        "-o",
        "json",
      ]);
      expect(replay.code, replay.stderr).toBe(0);
      const replayed = await sinkRecords(target.path, boot.projectId);
      expect(new Map(replayed.map((r) => [sha(r.payloads[0]!), r.method]))).toEqual(await coreHolds());
    } finally {
      await gateway.stop("SIGKILL");
      await target.remove();
    }
  });
});

describe("profgate loadgen sends the OTLP signals", () => {
  for (const over of ["grpc", "grpc-zstd", "otlp-http"] as const)
    it(`pushes every signal over ${over}, and the gateway stores what it acknowledged`, async () => {
      const dir = await tempDir();
      const gateway = await startGateway(dir.path);
      try {
        const boot = await readBootstrap(dir.path);
        const result = await profgate([
          "loadgen",
          "--target",
          gateway.target,
          "--token-file",
          join(dir.path, "agent.token"),
          "--project",
          boot.projectId,
          "--agents",
          "2",
          "--rate",
          "40",
          "--duration",
          "1s",
          "--payload-bytes",
          "8192",
          ...{
            grpc: ["--compression", "gzip"],
            "grpc-zstd": ["--compression", "zstd"],
            "otlp-http": ["--otlp-http", gateway.otlpHttpUrl],
          }[over],
          "--mix",
          "otlpprofiles=1,otlplogs=1,otlptraces=1,otlpmetrics=1",
          "-o",
          "json",
        ]);
        expect(result.code, result.stderr).toBe(0);
        const summary = JSON.parse(result.stdout) as { okByMethod: Record<string, number> };
        const stored = await sinkRecords(dir.path, boot.projectId);
        const byMethod: Record<string, number> = {};
        for (const r of stored) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
        expect(Object.keys(summary.okByMethod).sort()).toEqual([...OTLP_METHODS].sort());
        expect(byMethod).toEqual(summary.okByMethod);
        expect(stored.every((r) => r.payloads[0]!.byteLength > 8000)).toBe(true);
      } finally {
        await gateway.stop("SIGKILL");
        await dir.remove();
      }
    });
});
