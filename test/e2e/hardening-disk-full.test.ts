import { createHash, randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
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
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { validateSink } from "../support/sink-validation.js";
import { mountSmallDisk, type SmallDisk } from "../support/small-disk.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: status.OK, details: "" }),
    (error: { code: number; details: string }) => ({ code: error.code, details: error.details }),
  );

/** The data dir's file system: 8 MiB, of which the filler takes 2 MiB until it is deleted. */
const DISK_MIB = 8;
const FILLER_BYTES = 2 * 1024 * 1024;

describe("a full disk under the data dir", () => {
  let disk: SmallDisk | undefined;
  let skipped = "";
  let gateway: GatewayProcess | undefined;
  let agent: AgentClient;
  let projectId: string;
  /** SHA-256 of every WriteArrow payload the gateway acknowledged, in order. */
  const acknowledged: string[] = [];

  beforeAll(async () => {
    const mounted = await mountSmallDisk(DISK_MIB);
    if ("failed" in mounted) {
      skipped = `cannot mount a small file system here (needs root): ${mounted.failed.join("; ")}`;
      console.warn(`SKIPPED disk-full tests: ${skipped}`);
      return;
    }
    disk = mounted;
    await writeFile(join(disk.path, "filler"), randomBytes(FILLER_BYTES));
    gateway = await startGateway(join(disk.path, "data"));
    const boot = await readBootstrap(join(disk.path, "data"));
    projectId = boot.projectId;
    agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId });
  });
  afterAll(async () => {
    agent?.close();
    await gateway?.stop();
    await disk?.remove();
  });

  const push = async (bytes: number) => {
    const payload = encodeArrowV2({ payloadBytes: bytes });
    const result = await codeOf(agent.writeArrow(payload));
    if (result.code === status.OK) acknowledged.push(sha(payload));
    return result;
  };

  it("acknowledges writes while there is room, then answers UNAVAILABLE (retryable), never OK for what it did not store", async (context) => {
    if (!disk) return context.skip(skipped);
    const refused: string[] = [];
    // Large payloads until they no longer fit, then small ones until nothing fits at all.
    for (const size of [256 * 1024, 16 * 1024, 1024]) {
      let refusedInARow = 0;
      for (let i = 0; i < 200 && refusedInARow < 3; i++) {
        const result = await push(size);
        if (result.code === status.OK) {
          refusedInARow = 0;
          continue;
        }
        expect(result.code, result.details).toBe(status.UNAVAILABLE);
        refusedInARow++;
        refused.push(result.details);
      }
      expect(refusedInARow, `${size}-byte writes kept succeeding on an ${DISK_MIB} MiB disk`).toBe(3);
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(refused[0]).toMatch(/retry/i);

    // Every other storing method says the same while the disk is full.
    const ids = [randomStacktraceId()];
    const sample = encodeSampleRecord({ labels: { node: "n" }, stacktraceIds: ids });
    const others = {
      WriteRaw: await codeOf(
        agent.writeRaw({
          series: [
            {
              labels: { labels: [{ name: "__name__", value: "cpu" }] },
              samples: [{ rawProfile: encodePprof({ stacks: 50 }) }],
            },
          ],
        }),
      ),
      Write: await codeOf(agent.write(sample, () => encodeLocationsRecord(ids))),
      ReportPanic: await codeOf(agent.reportPanic("panic: x".repeat(2000))),
      // The debuginfo upload writes its state file, then the bytes.
      InitiateUpload: await codeOf(
        agent.initiateUpload({ buildId: `full-${Date.now()}`, size: 1024n * 1024n, hash: "h" }),
      ),
    };
    for (const [method, result] of Object.entries(others)) {
      expect(`${method}: ${status[result.code]} ${result.details}`).toBe(
        `${method}: UNAVAILABLE ${result.details}`,
      );
    }
    expect(gateway!.child.exitCode).toBeNull();
  });

  it("lost nothing it acknowledged, and stored nothing it refused", async (context) => {
    if (!disk) return context.skip(skipped);
    const { records, problems } = await validateSink(join(disk.path, "data"));
    expect(problems).toEqual([]);
    const stored = records.filter((r) => r.method === "WriteArrow").map((r) => sha(r.payloads[0]!));
    expect(stored).toEqual(acknowledged);
    expect(records.filter((r) => r.method !== "WriteArrow")).toEqual([]);
  });

  it("recovers by itself when space returns, and the sink reopens cleanly after a restart", async (context) => {
    if (!disk) return context.skip(skipped);
    await rm(join(disk.path, "filler"));
    for (let i = 0; i < 5; i++) {
      const result = await push(64 * 1024);
      expect(result.code, result.details).toBe(status.OK);
    }
    expect(await gateway!.stop("SIGTERM")).toBe(0);
    gateway = await startGateway(join(disk.path, "data"));
    agent.close();
    const boot = await readBootstrap(join(disk.path, "data"));
    agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId });
    expect((await push(1024)).code).toBe(status.OK);
    expect(await gateway.log()).not.toMatch(/corrupt|torn/i);
    const { records, problems } = await validateSink(join(disk.path, "data"));
    expect(problems).toEqual([]);
    expect(records.map((r) => sha(r.payloads[0]!))).toEqual(acknowledged);
  });
});
