import { credentials, makeGenericClientConstructor, Metadata, status } from "@grpc/grpc-js";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeLocationsRecord, encodeSampleRecord, randomStacktraceId } from "../../src/agent-sim/index.js";
import {
  ProfileStoreService,
  type WriteResponse,
} from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { serviceDefinition } from "../../src/rpc/service-definition.js";
import { inProcessGateway } from "../support/in-process-gateway.js";
import { sinkRecords } from "../support/sink-contents.js";

type Gw = Awaited<ReturnType<typeof inProcessGateway>>;

/** Opens a raw Write stream, to behave unlike a well-mannered agent. */
function rawWrite(gw: Gw) {
  const Client = makeGenericClientConstructor(serviceDefinition(ProfileStoreService), "ProfileStore");
  const client = new Client(gw.target, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${gw.boot.agentToken}`);
  metadata.set("projectid", gw.boot.projectId);
  const call = (
    client as unknown as Record<
      string,
      (m: Metadata) => NodeJS.ReadWriteStream & { write(m: unknown): boolean }
    >
  ).write!(metadata);
  const responses: WriteResponse[] = [];
  call.on("data", (r: WriteResponse) => responses.push(r));
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    call.on("error", (e: { code: number; details: string }) => resolve(e));
    call.on("status", (s: { code: number; details: string }) => s.code === 0 && resolve(s));
  });
  return { call, responses, ended, close: () => client.close() };
}

describe("the Write exchange", () => {
  let gw: Gw;
  beforeAll(async () => {
    gw = await inProcessGateway();
  });
  afterAll(async () => gw?.close());

  it("asks for exactly the unique stacktrace ids of a dictionary-encoded sample record", async () => {
    const agent = new AgentClient(gw.target, { token: gw.boot.agentToken, projectId: gw.boot.projectId });
    const ids = Array.from({ length: 5 }, randomStacktraceId);
    const sample = encodeSampleRecord({
      labels: {},
      stacktraceIds: [...ids, ...ids],
      stacktraceEncoding: "dictionary",
    });
    const { wanted } = await agent.write(sample, () => encodeLocationsRecord(ids));
    const table = tableFromIPC(wanted);
    expect(table.schema.metadata.get("parca_write_schema_version")).toBe("v1");
    const asked = [...table.getChild("stacktrace_id")!].map((v) =>
      Buffer.from(v as Uint8Array).toString("hex"),
    );
    expect(asked).toEqual(ids.map((id) => Buffer.from(id).toString("hex")));
    agent.close();
  });

  it("ends the call itself after the locations record, without waiting for the agent to half-close", async () => {
    const raw = rawWrite(gw);
    const ids = [randomStacktraceId()];
    raw.call.write({ record: encodeSampleRecord({ labels: {}, stacktraceIds: ids }) });
    await new Promise((r) => raw.call.once("data", r));
    raw.call.write({ record: encodeLocationsRecord(ids) });
    expect((await raw.ended).code).toBe(status.OK);
    raw.close();
  });

  it("sends a WriteResponse even when it refuses the first record", async () => {
    const raw = rawWrite(gw);
    raw.call.write({ record: Buffer.from("garbage") });
    const ended = await raw.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(raw.responses).toHaveLength(1);
    raw.close();
  });

  it("refuses a garbage locations record and stores nothing", async () => {
    const before = (await sinkRecords(gw.dataDir)).length;
    const raw = rawWrite(gw);
    raw.call.write({ record: encodeSampleRecord({ labels: {}, stacktraceIds: [randomStacktraceId()] }) });
    await new Promise((r) => raw.call.once("data", r));
    raw.call.write({ record: Buffer.from("not arrow") });
    expect((await raw.ended).code).toBe(status.INVALID_ARGUMENT);
    expect((await sinkRecords(gw.dataDir)).length).toBe(before);
    raw.close();
  });

  it("refuses an agent that half-closes before sending the locations it was asked for", async () => {
    const raw = rawWrite(gw);
    raw.call.write({ record: encodeSampleRecord({ labels: {}, stacktraceIds: [randomStacktraceId()] }) });
    await new Promise((r) => raw.call.once("data", r));
    raw.call.end();
    const ended = await raw.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toContain("locations");
    raw.close();
  });

  it("bounds the exchange to 5 s: DEADLINE_EXCEEDED, nothing stored", async () => {
    const before = (await sinkRecords(gw.dataDir)).length;
    const raw = rawWrite(gw);
    const started = Date.now();
    raw.call.write({ record: encodeSampleRecord({ labels: {}, stacktraceIds: [randomStacktraceId()] }) });
    const ended = await raw.ended;
    expect(ended.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    expect(raw.responses).toHaveLength(1);
    expect((await sinkRecords(gw.dataDir)).length).toBe(before);
    raw.close();
  });
});
