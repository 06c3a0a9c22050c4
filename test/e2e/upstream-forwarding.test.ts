import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
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
import { ReportPanicRequestSchema } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { encodeBuildId } from "../../src/ingest/debuginfo/debuginfo-layout.js";
import { readIpcStream } from "../../src/ingest/arrow/index.js";
import { iamJson } from "../support/cli.js";
import { sinkRecords } from "../support/sink-contents.js";
import { metricValue, parseMetrics, type Sample } from "../support/metrics-text.js";
import { type Hops, startHops } from "../support/upstream-hops.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function outcome(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  return promise.then(
    () => ({ code: status.OK, details: "" }),
    (error: { code: number; details: string }) => ({ code: error.code, details: error.details }),
  );
}

describe("an edge gateway forwarding to a core gateway, end to end", () => {
  let hops: Hops;
  const clients: AgentClient[] = [];
  const edgeAgent = () => {
    const c = new AgentClient(hops.edge.target, {
      token: hops.edgeIam.tokens.agent,
      projectId: hops.edgeIam.projectId,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    hops = await startHops();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await hops?.close();
  });

  it("forwards every profile method; the core stores the bytes the agent sent, as the edge's credential", async () => {
    const agent = edgeAgent();
    const raw = {
      series: [
        {
          labels: {
            labels: [
              { name: "__name__", value: "parca_agent_cpu" },
              { name: "node", value: "edge-node" },
            ],
          },
          samples: [{ rawProfile: encodePprof({ seed: 7 }) }],
        },
      ],
    };
    await agent.writeRaw(raw);
    const arrow = encodeArrowV2({ payloadBytes: 256 * 1024 });
    await agent.writeArrow(arrow);

    const ids = [randomStacktraceId(), randomStacktraceId(), randomStacktraceId()];
    const sample = encodeSampleRecord({
      labels: { node: "edge-node" },
      stacktraceIds: [...ids, ids[1]!],
      stacktraceEncoding: "run-end-encoded",
    });
    let locations: Uint8Array = new Uint8Array();
    const { wanted } = await agent.write(sample, () => {
      locations = encodeLocationsRecord(ids);
      return locations;
    });
    // The core asked for the stacktraces, through the edge.
    expect(readIpcStream(wanted).schema.fields.map((f) => f.name)).toEqual(["stacktrace_id"]);

    await agent.reportPanic("panic: forwarded\n", { agent_version: "v0.50.0" });

    const records = await sinkRecords(hops.coreDir, hops.coreBoot.projectId);
    expect(records.map((r) => r.method)).toEqual(["WriteRaw", "WriteArrow", "Write", "ReportPanic"]);
    expect(sha(records[0]!.payloads[0]!)).toBe(
      sha(toBinary(WriteRawRequestSchema, create(WriteRawRequestSchema, raw))),
    );
    expect(sha(records[1]!.payloads[0]!)).toBe(sha(arrow));
    expect(sha(records[2]!.payloads[0]!)).toBe(sha(sample));
    expect(sha(records[2]!.payloads[1]!)).toBe(sha(locations));
    expect(sha(records[3]!.payloads[0]!)).toBe(
      sha(
        toBinary(
          ReportPanicRequestSchema,
          create(ReportPanicRequestSchema, {
            stderr: "panic: forwarded\n",
            metadata: { agent_version: "v0.50.0" },
          }),
        ),
      ),
    );

    // Stored under the core's own identities: the edge's credential, never the edge agent's.
    const [coreAgentToken] = await iamJson<Array<{ id: string }>>(
      hops.core.adminTarget,
      join(hops.coreDir, "owner.token"),
      ["tokens", "list", "--service-account", hops.coreBoot.agentServiceAccountId],
    );
    for (const r of records) {
      expect(r.organizationId).toBe(hops.coreBoot.organizationId);
      expect(r.projectId).toBe(hops.coreBoot.projectId);
      expect(r.serviceAccountId).toBe(hops.coreBoot.agentServiceAccountId);
      expect(r.tokenId).toBe(coreAgentToken!.id);
    }
    expect(await sinkRecords(hops.edgeDir)).toEqual([]);

    // AgentsService answers with the core's view.
    const agents = await agent.agents();
    expect(agents.agents.map((a) => a.id)).toContain("edge-node");
  });

  it("never lets the agent's token reach the core", async () => {
    const edgeToken = hops.edgeIam.tokens.agent;
    await edgeAgent().writeArrow(encodeArrowV2());
    const direct = new AgentClient(hops.core.target, {
      token: edgeToken,
      projectId: hops.coreBoot.projectId,
    });
    clients.push(direct);
    expect((await outcome(direct.writeArrow(encodeArrowV2()))).code).toBe(status.UNAUTHENTICATED);
    const coreLog = await hops.core.log();
    expect(coreLog).not.toContain(edgeToken.slice("psc_v1_".length));
    expect(await hops.edge.log()).not.toContain(hops.coreBoot.agentToken.slice("psc_v1_".length));
  });

  it("passes the core's refusals through with their code and details", async () => {
    const agent = edgeAgent();
    const viaEdge = await outcome(agent.writeArrow(Buffer.from("not arrow at all")));
    const direct = new AgentClient(hops.core.target, {
      token: hops.coreBoot.agentToken,
      projectId: hops.coreBoot.projectId,
    });
    clients.push(direct);
    const atCore = await outcome(direct.writeArrow(Buffer.from("not arrow at all")));
    expect(viaEdge).toEqual(atCore);
    expect(viaEdge.code).toBe(status.INVALID_ARGUMENT);
    const badUpload = await outcome(agent.initiateUpload({ buildId: "ab", size: 10n, hash: "x" }));
    expect(badUpload.code).toBe(status.INVALID_ARGUMENT);
    // The edge still authenticates: the agent's refusals are the edge's own.
    const stranger = new AgentClient(hops.edge.target, {
      token: hops.edgeIam.tokens.foreign,
      projectId: hops.edgeIam.projectId,
    });
    clients.push(stranger);
    expect((await outcome(stranger.writeArrow(encodeArrowV2()))).code).toBe(status.PERMISSION_DENIED);
  });

  it("counts its calls to the core as grpc_client_* metrics, per method, message and code", async () => {
    const snapshot = async () => parseMetrics(await (await fetch(`${hops.edge.httpUrl}/metrics`)).text());
    const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    const before = await snapshot();
    const agent = edgeAgent();
    await agent.writeArrow(encodeArrowV2());
    await agent.writeArrow(encodeArrowV2());
    expect((await outcome(agent.writeArrow(Buffer.from("not arrow")))).code).toBe(status.INVALID_ARGUMENT);
    const ids = [randomStacktraceId()];
    await agent.write(encodeSampleRecord({ labels: { node: "edge-node" }, stacktraceIds: ids }), () =>
      encodeLocationsRecord(ids),
    );
    const after = await snapshot();
    const arrow = {
      grpc_service: "parca.profilestore.v1alpha1.ProfileStoreService",
      grpc_method: "WriteArrow",
    };
    expect(delta(before, after, "grpc_client_started_total", { ...arrow, grpc_type: "unary" })).toBe(3);
    expect(delta(before, after, "grpc_client_msg_sent_total", arrow)).toBe(3);
    expect(delta(before, after, "grpc_client_msg_received_total", arrow)).toBe(2);
    expect(delta(before, after, "grpc_client_handled_total", { ...arrow, grpc_code: "OK" })).toBe(2);
    expect(
      delta(before, after, "grpc_client_handled_total", { ...arrow, grpc_code: "INVALID_ARGUMENT" }),
    ).toBe(1);
    expect(delta(before, after, "grpc_client_handling_seconds_count", arrow)).toBe(3);
    // The Write exchange: the sample record and the locations out, the stacktraces wanted back.
    const write = { grpc_method: "Write", grpc_type: "bidi_stream" };
    expect(delta(before, after, "grpc_client_started_total", write)).toBe(1);
    expect(delta(before, after, "grpc_client_msg_sent_total", write)).toBe(2);
    expect(delta(before, after, "grpc_client_msg_received_total", write)).toBe(1);
    expect(delta(before, after, "grpc_client_handled_total", { ...write, grpc_code: "OK" })).toBe(1);
  });

  it("runs the debuginfo flow through both hops; the core stores the uploaded bytes", async () => {
    const agent = edgeAgent();
    const buildId = `build-${randomUUID()}`;
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 3);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    const should = await agent.shouldInitiateUpload({ buildId, buildIdType: 1 });
    expect(should.shouldInitiateUpload).toBe(true);
    const { uploadInstructions } = await agent.initiateUpload({
      buildId,
      size: BigInt(bytes.length),
      hash: "abc",
    });
    expect(uploadInstructions?.uploadStrategy).toBe(1);
    const chunks = [bytes.subarray(0, 2 << 20), bytes.subarray(2 << 20, 4 << 20), bytes.subarray(4 << 20)];
    const uploaded = await agent.upload({ buildId, uploadId: uploadInstructions!.uploadId }, chunks);
    expect(uploaded).toMatchObject({ buildId, size: BigInt(bytes.length) });
    await agent.markUploadFinished({ buildId, uploadId: uploadInstructions!.uploadId });
    expect((await agent.shouldInitiateUpload({ buildId })).shouldInitiateUpload).toBe(false);

    const typeDir = join(
      hops.coreDir,
      "debuginfo",
      hops.coreBoot.projectId,
      encodeBuildId(buildId),
      "debuginfo",
    );
    const data = (await readdir(typeDir)).filter((name) => name.endsWith(".data"));
    expect(data).toHaveLength(1);
    expect(sha(await readFile(join(typeDir, data[0]!)))).toBe(sha(bytes));
  });

  // Last: it stops the core.
  it("without --spool, gives agents UNAVAILABLE for every method while the core is down, so that they retry", async () => {
    const agent = edgeAgent();
    await hops.core.stop("SIGKILL");
    const results = [
      await outcome(agent.writeArrow(encodeArrowV2())),
      await outcome(
        agent.writeRaw({
          series: [
            {
              labels: { labels: [{ name: "__name__", value: "x" }] },
              samples: [{ rawProfile: encodePprof() }],
            },
          ],
        }),
      ),
      await outcome(
        agent.write(encodeSampleRecord({ labels: {}, stacktraceIds: [randomStacktraceId()] }), (w) => w),
      ),
      await outcome(agent.upload({ buildId: "abcdef", uploadId: "x" }, [Buffer.alloc(1024)])),
      await outcome(agent.shouldInitiateUpload({ buildId: "abcdef" })),
      await outcome(agent.reportPanic("boom")),
    ];
    for (const result of results) {
      expect(result.code).toBe(status.UNAVAILABLE);
      expect(result.details).toMatch(/upstream .*retry later/);
    }
    expect(await hops.edge.log((text) => text.includes("agents get UNAVAILABLE"))).toContain(
      "agents get UNAVAILABLE",
    );
  });
});
