import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeBuildId } from "../../src/ingest/debuginfo/debuginfo-layout.js";
import { type Hops, startHops } from "../support/upstream-hops.js";

const MiB = 1024 * 1024;
const FILE_BYTES = 200 * MiB;
/** What parca-agent's gRPC uploader sends per message (Parca's debuginfo ChunkSize). */
const CHUNK_BYTES = 8 * MiB;
/**
 * The edge's memory may grow by a bounded amount that depends on the chunk size, never on the
 * file's: the message being forwarded, grpc-js's copies of it (decoded, framed), and the garbage
 * V8 lets pile up before a full GC (its external-memory trigger is about 64 MiB). Measured with
 * 8 MiB chunks: 60-115 MiB; with 1 MiB chunks: about 40 MiB.
 */
const MAX_GROWTH = 128 * MiB;

/** The resident set of a process, from /proc: what the kernel really holds for it. */
async function rssBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kib) * 1024;
}

/** `total` bytes of a deterministic pattern in `chunk`-sized pieces, produced as they are sent. */
function* pattern(total: number, chunk: number, hash: ReturnType<typeof createHash>) {
  for (let sent = 0, n = 0; sent < total; sent += chunk, n++) {
    const piece = Buffer.alloc(Math.min(chunk, total - sent), n % 251);
    piece.writeUInt32LE(n, 0);
    hash.update(piece);
    yield piece;
  }
}

describe("a large debuginfo upload through an edge", () => {
  let hops: Hops;
  let agent: AgentClient;
  beforeAll(async () => {
    hops = await startHops();
    agent = new AgentClient(hops.edge.target, {
      token: hops.edgeIam.tokens.agent,
      projectId: hops.edgeIam.projectId,
    });
  });
  afterAll(async () => {
    agent?.close();
    await hops?.close();
  });

  it("streams 200 MiB chunk by chunk with the edge's memory flat, and the core stores every byte", async () => {
    const edgePid = hops.edge.child.pid!;
    const buildId = `big-${randomUUID()}`;
    const { uploadInstructions } = await agent.initiateUpload({
      buildId,
      size: BigInt(FILE_BYTES),
      hash: "sha256",
    });
    const baseline = await rssBytes(edgePid);
    const samples: number[] = [];
    const sampler = setInterval(() => {
      rssBytes(edgePid).then(
        (rss) => samples.push(rss),
        () => {},
      );
    }, 20);
    const sent = createHash("sha256");
    const started = Date.now();
    try {
      const response = await agent.upload(
        { buildId, uploadId: uploadInstructions!.uploadId },
        pattern(FILE_BYTES, CHUNK_BYTES, sent),
      );
      expect(response.size).toBe(BigInt(FILE_BYTES));
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const peak = Math.max(baseline, ...samples);
    const firstHalf = Math.max(baseline, ...samples.slice(0, samples.length >> 1));
    const mib = (n: number) => (n / MiB).toFixed(0);
    console.log(
      `200 MiB upload in ${CHUNK_BYTES / MiB} MiB chunks through two hops: ${seconds.toFixed(1)} s; ` +
        `edge RSS ${mib(baseline)} MiB -> peak ${mib(peak)} MiB (+${mib(peak - baseline)} MiB), ` +
        `first half's peak ${mib(firstHalf)} MiB, ${samples.length} samples`,
    );
    expect(samples.length).toBeGreaterThan(10);
    // Bounded, and flat: the second half of the file costs nothing more than the first.
    expect(peak - baseline).toBeLessThan(MAX_GROWTH);
    expect(peak - firstHalf).toBeLessThan(24 * MiB);

    await agent.markUploadFinished({ buildId, uploadId: uploadInstructions!.uploadId });
    const typeDir = join(
      hops.coreDir,
      "debuginfo",
      hops.coreBoot.projectId,
      encodeBuildId(buildId),
      "debuginfo",
    );
    const [data] = (await readdir(typeDir)).filter((name) => name.endsWith(".data"));
    const stored = createHash("sha256").update(await readFile(join(typeDir, data!)));
    expect(stored.digest("hex")).toBe(sent.digest("hex"));
  });
});
