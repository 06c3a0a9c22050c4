import { randomUUID } from "node:crypto";
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
import { readIpcStream } from "../../src/ingest/arrow/index.js";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { type PreparedIam, prepareIam } from "../support/prepare-iam.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const writeRaw = (name = "parca_agent_cpu") => ({
  series: [
    {
      labels: {
        labels: [
          { name: "__name__", value: name },
          { name: "node", value: "node-a" },
        ],
      },
      samples: [{ rawProfile: encodePprof({ seed: 1 }) }],
    },
  ],
});

function codeOf(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  return promise.then(
    () => ({ code: status.OK, details: "" }),
    (error: { code: number; details: string }) => ({ code: error.code, details: error.details }),
  );
}

describe("profgate serve, end to end with an agent's protocol", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let iam: PreparedIam;
  let gateway: GatewayProcess;
  const clients: AgentClient[] = [];
  const client = (token: string | undefined, projectId: string | undefined) => {
    const c = new AgentClient(gateway.target, {
      ...(token !== undefined ? { token } : {}),
      ...(projectId !== undefined ? { projectId } : {}),
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = await tempDir();
    iam = await prepareIam(dir.path);
    gateway = await startGateway(dir.path);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await gateway?.stop();
    await dir?.remove();
  });

  it("accepts every agent method with the agent token and stores the exact bytes", async () => {
    const agent = client(iam.tokens.agent, iam.projectId);
    const before = (await sinkRecords(dir.path, iam.projectId)).length;

    const raw = writeRaw();
    await agent.writeRaw(raw);

    const arrow = encodeArrowV2({ payloadBytes: 64 * 1024 });
    await agent.writeArrow(arrow);

    const ids = [randomStacktraceId(), randomStacktraceId(), randomStacktraceId()];
    const sample = encodeSampleRecord({
      labels: { node: "node-a", comm: "app" },
      stacktraceIds: [...ids, ids[0]!],
      stacktraceEncoding: "run-end-encoded",
    });
    let locations: Uint8Array = new Uint8Array();
    const { wanted } = await agent.write(sample, () => {
      locations = encodeLocationsRecord(ids);
      return locations;
    });
    const wantedSchema = readIpcStream(wanted).schema;
    expect(wantedSchema.fields.map((f) => f.name)).toEqual(["stacktrace_id"]);

    await agent.reportPanic("panic: runtime error\n", { agent_version: "v0.50.0" });

    const records = (await sinkRecords(dir.path, iam.projectId)).slice(before);
    expect(records.map((r) => r.method)).toEqual(["WriteRaw", "WriteArrow", "Write", "ReportPanic"]);
    expect(Buffer.from(records[1]!.payloads[0]!).equals(Buffer.from(arrow))).toBe(true);
    expect(Buffer.from(records[2]!.payloads[0]!).equals(Buffer.from(sample))).toBe(true);
    expect(Buffer.from(records[2]!.payloads[1]!).equals(Buffer.from(locations))).toBe(true);
    const rawProfile = raw.series[0]!.samples[0]!.rawProfile;
    expect(Buffer.from(records[0]!.payloads[0]!).includes(Buffer.from(rawProfile))).toBe(true);
    for (const r of records) {
      expect(r.projectId).toBe(iam.projectId);
      expect(r.organizationId).toBe(iam.organizationId);
      expect(r.serviceAccountId).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    }

    const agents = await agent.agents();
    expect(agents.agents.map((a) => a.id)).toContain("node-a");
  });

  it("runs the debuginfo upload flow with the gRPC strategy", async () => {
    const agent = client(iam.tokens.agent, iam.projectId);
    const buildId = `build-${randomUUID()}`;
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const should = await agent.shouldInitiateUpload({ buildId, buildIdType: 1 });
    expect(should.shouldInitiateUpload).toBe(true);
    const { uploadInstructions } = await agent.initiateUpload({
      buildId,
      size: BigInt(bytes.length),
      hash: "abc",
    });
    expect(uploadInstructions?.uploadStrategy).toBe(1);
    const again = await agent.shouldInitiateUpload({ buildId });
    expect(again).toMatchObject({
      shouldInitiateUpload: false,
      reason: "A previous upload is still in-progress and not stale yet (only stale uploads can be retried).",
    });
    const chunks = [bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20, 2 << 20), bytes.subarray(2 << 20)];
    const uploaded = await agent.upload({ buildId, uploadId: uploadInstructions!.uploadId }, chunks);
    expect(uploaded.size).toBe(BigInt(bytes.length));
    await agent.markUploadFinished({ buildId, uploadId: uploadInstructions!.uploadId });
    expect((await agent.shouldInitiateUpload({ buildId })).shouldInitiateUpload).toBe(false);
    expect((await codeOf(agent.initiateUpload({ buildId: "ab", size: 10n, hash: "x" }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  describe("refuses, with the status of the IAM model's table, and stores nothing", () => {
    const cases: Array<[string, () => AgentClient, number, RegExp]> = [
      ["no token", () => client(undefined, iam.projectId), status.UNAUTHENTICATED, /authorization: Bearer/],
      [
        "a malformed token",
        () => client("psc_v1_nothex", iam.projectId),
        status.UNAUTHENTICATED,
        /psc_v1_ followed by 64/,
      ],
      [
        "an unknown token",
        () => client(`psc_v1_${"ab".repeat(32)}`, iam.projectId),
        status.UNAUTHENTICATED,
        /unknown or has been revoked/,
      ],
      [
        "no project id",
        () => client(iam.tokens.agent, undefined),
        status.INVALID_ARGUMENT,
        /projectID=<uuid>/,
      ],
      [
        "a malformed project id",
        () => client(iam.tokens.agent, "not-a-uuid"),
        status.INVALID_ARGUMENT,
        /projectID=<uuid>/,
      ],
      [
        "an unknown project",
        () => client(iam.tokens.owner, randomUUID()),
        status.PERMISSION_DENIED,
        /profile\.write is missing on project/,
      ],
      [
        "a project of another organization",
        () => client(iam.tokens.owner, iam.foreignProjectId),
        status.PERMISSION_DENIED,
        /profile\.write is missing on project/,
      ],
      [
        "a viewer writing",
        () => client(iam.tokens.viewer, iam.projectId),
        status.PERMISSION_DENIED,
        /profile\.write is missing/,
      ],
      [
        "a binding scoped to another project",
        () => client(iam.tokens.otherProjectWriter, iam.projectId),
        status.PERMISSION_DENIED,
        /profile\.write is missing/,
      ],
      [
        "a foreign organization's writer",
        () => client(iam.tokens.foreign, iam.projectId),
        status.PERMISSION_DENIED,
        /profile\.write is missing/,
      ],
    ];
    for (const [name, make, code, message] of cases) {
      it(`${name}: ${status[code]}`, async () => {
        const before = await sinkRecords(dir.path);
        const c = make();
        for (const call of [
          () => c.writeRaw(writeRaw()),
          () => c.writeArrow(encodeArrowV2()),
          () => c.write(encodeSampleRecord({ labels: {}, stacktraceIds: [randomStacktraceId()] }), (w) => w),
        ]) {
          const result = await codeOf(call());
          expect(result.code).toBe(code);
          expect(result.details).toMatch(message);
          expect(result.details).not.toMatch(/psc_v1_[0-9a-f]/);
        }
        expect((await sinkRecords(dir.path)).length).toBe(before.length);
      });
    }

    it("says the same whether a project exists in another organization or not at all", async () => {
      const foreign = await codeOf(
        client(iam.tokens.owner, iam.foreignProjectId).writeArrow(encodeArrowV2()),
      );
      const missing = await codeOf(client(iam.tokens.owner, randomUUID()).writeArrow(encodeArrowV2()));
      const strip = (s: string) => s.replace(/[0-9a-f-]{36}/, "<id>");
      expect(strip(foreign.details)).toBe(strip(missing.details));
    });

    it("a profile-writer may write profiles but not upload debuginfo", async () => {
      const c = client(iam.tokens.profileWriter, iam.projectId);
      expect((await codeOf(c.writeArrow(encodeArrowV2()))).code).toBe(status.OK);
      const denied = await codeOf(c.shouldInitiateUpload({ buildId: "abcdef" }));
      expect(denied.code).toBe(status.PERMISSION_DENIED);
      expect(denied.details).toMatch(/debuginfo\.write is missing on project/);
    });

    it("a viewer may list agents and report a panic, but not write", async () => {
      const c = client(iam.tokens.viewer, iam.projectId);
      expect((await codeOf(c.agents())).code).toBe(status.OK);
      expect((await codeOf(c.reportPanic("boom"))).code).toBe(status.OK);
    });
  });

  describe("rejects malformed payloads with INVALID_ARGUMENT and stores nothing", () => {
    const bad: Array<[string, (c: AgentClient) => Promise<unknown>, RegExp]> = [
      ["WriteRaw without series", (c) => c.writeRaw({ series: [] }), /no series/],
      [
        "WriteRaw without __name__",
        (c) =>
          c.writeRaw({
            series: [
              { labels: { labels: [{ name: "job", value: "x" }] }, samples: [{ rawProfile: encodePprof() }] },
            ],
          }),
        /__name__/,
      ],
      [
        "WriteRaw with an invalid label name",
        (c) =>
          c.writeRaw({
            series: [
              {
                labels: {
                  labels: [
                    { name: "__name__", value: "x" },
                    { name: "bad-name", value: "x" },
                  ],
                },
                samples: [{ rawProfile: encodePprof() }],
              },
            ],
          }),
        /invalid label name/,
      ],
      [
        "WriteRaw with a duplicate label",
        (c) =>
          c.writeRaw({
            series: [
              {
                labels: {
                  labels: [
                    { name: "__name__", value: "x" },
                    { name: "__name__", value: "y" },
                  ],
                },
                samples: [{ rawProfile: encodePprof() }],
              },
            ],
          }),
        /duplicate label/,
      ],
      [
        "WriteArrow with random bytes",
        (c) => c.writeArrow(Buffer.from("definitely not arrow")),
        /Arrow|IPC/i,
      ],
      [
        "WriteArrow without the schema version",
        (c) =>
          c.writeArrow(
            encodeSampleRecord({ labels: {}, stacktraceIds: [randomStacktraceId()], metadata: {} }),
          ),
        /parca_write_schema_version/,
      ],
      ["Write with a garbage sample record", (c) => c.write(Buffer.from("garbage"), (w) => w), /Arrow|IPC/i],
    ];
    for (const [name, call, message] of bad) {
      it(name, async () => {
        const before = (await sinkRecords(dir.path)).length;
        const result = await codeOf(call(client(iam.tokens.agent, iam.projectId)));
        expect(result.code).toBe(status.INVALID_ARGUMENT);
        expect(result.details).toMatch(message);
        expect((await sinkRecords(dir.path)).length).toBe(before);
      });
    }
  });
});
