import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issue } from "../support/certificates.js";
import { type CliResult, profgate } from "../support/cli.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const json = (result: CliResult) => {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout);
};

/** `profgate loadgen` against `target` as the agent of `dataDir`'s gateway, with `flags`, JSON out. */
const loadgen = (target: string, dataDir: string, projectId: string, flags: string[]) =>
  profgate([
    "loadgen",
    "--target",
    target,
    "--token-file",
    join(dataDir, "agent.token"),
    "--project",
    projectId,
    ...flags,
    "-o",
    "json",
  ]);

describe("profgate loadgen and replay against running gateways", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let source: GatewayProcess;
  let target: GatewayProcess;
  let sourceBoot: BootstrapFiles;
  let targetBoot: BootstrapFiles;

  beforeAll(async () => {
    dir = await tempDir();
    source = await startGateway(join(dir.path, "source"));
    target = await startGateway(join(dir.path, "target"));
    sourceBoot = await readBootstrap(join(dir.path, "source"));
    targetBoot = await readBootstrap(join(dir.path, "target"));
  });
  afterAll(async () => {
    await source?.stop();
    await target?.stop();
    await dir?.remove();
  });

  /** Replays the source gateway's recording against the target, as its agent, at `speed`. */
  const replayTo = (speed: string) =>
    profgate([
      "replay",
      "--from",
      join(dir.path, "source"),
      "--target",
      target.target,
      "--token-file",
      join(dir.path, "target", "agent.token"),
      "--project-map",
      `${sourceBoot.projectId}=${targetBoot.projectId}`,
      "--speed",
      speed,
      "-o",
      "json",
    ]);

  it("reports the counts that the gateway's sink and metrics recorded", async () => {
    const summary = json(
      await loadgen(source.target, join(dir.path, "source"), sourceBoot.projectId, [
        "--agents",
        "4",
        "--rate",
        "60",
        "--duration",
        "3s",
        "--payload-bytes",
        "8192",
        "--mix",
        "writearrow=60,write=20,writeraw=15,reportpanic=5",
        "--report-interval",
        "1s",
      ]),
    );
    expect(summary.calls).toBeGreaterThan(120);
    expect(summary.codes).toEqual({ OK: summary.calls });
    for (const key of ["p50", "p90", "p99", "p999"]) expect(summary.latencyMs[key]).toBeGreaterThan(0);

    const records = await sinkRecords(join(dir.path, "source"), sourceBoot.projectId);
    const byMethod: Record<string, number> = {};
    for (const r of records) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
    expect(byMethod).toEqual(summary.okByMethod);

    const samples = parseMetrics(await (await fetch(`${source.httpUrl}/metrics`)).text());
    for (const [method, count] of Object.entries(summary.okByMethod as Record<string, number>)) {
      expect(
        metricValue(samples, "grpc_server_handled_total", { grpc_method: method, grpc_code: "OK" }),
        method,
      ).toBe(count);
    }
    // Every agent labels what it sends with its own node: all four are in the sink. (Any method:
    // in 3 s an agent may well draw no WriteRaw from the mix.)
    const nodes = new Set(
      records.flatMap((r) =>
        r.payloads.map((p) => /loadgen-node-\d+/.exec(Buffer.from(p).toString("latin1"))?.[0]),
      ),
    );
    nodes.delete(undefined);
    expect(nodes.size).toBe(4);
  });

  it("replays the recorded session byte for byte, in order, with substituted credentials", async () => {
    const recorded = await sinkRecords(join(dir.path, "source"), sourceBoot.projectId);
    const summary = json(await replayTo("max"));

    expect(summary.codes).toEqual({ OK: recorded.length });
    const replayed = await sinkRecords(join(dir.path, "target"), targetBoot.projectId);
    expect(replayed.map((r) => r.method)).toEqual(recorded.map((r) => r.method));
    expect(replayed.map((r) => r.payloads.map(sha))).toEqual(recorded.map((r) => r.payloads.map(sha)));
    expect(new Set(replayed.map((r) => r.serviceAccountId))).toEqual(
      new Set([targetBoot.agentServiceAccountId]),
    );
  });

  it("keeps the original timing, scaled by --speed", async () => {
    const recorded = await sinkRecords(join(dir.path, "source"), sourceBoot.projectId);
    const span = recorded[recorded.length - 1]!.receivedAt - recorded[0]!.receivedAt;
    const started = Date.now();
    const summary = json(await replayTo("2"));

    expect(summary.codes.OK).toBe(recorded.length);
    expect(Date.now() - started).toBeGreaterThanOrEqual(span / 2 - 50);
  });

  it("drives WriteArrow through the lean HTTP/2 client with the same results: stored bytes, codes, metrics", async () => {
    const dataDir = join(dir.path, "h2");
    const gateway = await startGateway(dataDir);
    try {
      const boot = await readBootstrap(dataDir);
      const summary = json(
        await loadgen(gateway.target, dataDir, boot.projectId, [
          "--client",
          "h2",
          "--agents",
          "8",
          "--rate",
          "80",
          "--duration",
          "2s",
          "--payload-bytes",
          "70000",
          "--mix",
          "writearrow=80,writeraw=20",
          "--junk-ratio",
          "0.25",
        ]),
      );
      expect(summary.calls).toBeGreaterThan(60);
      expect(summary.codes).toEqual({ OK: summary.calls });
      expect(summary.okByMethod.WriteArrow).toBeGreaterThan(0);
      expect(summary.okByMethod.WriteRaw).toBeGreaterThan(0);
      // Junk goes through the lean client too, and its refusals are read back as such.
      expect(summary.junk.calls).toBeGreaterThan(10);
      expect(summary.junk.codes).toEqual({ UNAUTHENTICATED: summary.junk.calls });

      const records = await sinkRecords(dataDir, boot.projectId);
      const byMethod: Record<string, number> = {};
      for (const r of records) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
      expect(byMethod).toEqual(summary.okByMethod);
      // Each payload arrived whole: the length of a 70,000-byte message over several DATA frames.
      for (const r of records.filter((record) => record.method === "WriteArrow"))
        expect(r.payloads[0]!.byteLength).toBeGreaterThanOrEqual(70_000);

      const samples = parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
      const handled = (code: string) =>
        metricValue(samples, "grpc_server_handled_total", { grpc_method: "WriteArrow", grpc_code: code });
      expect(handled("OK")).toBe(summary.okByMethod.WriteArrow);
      expect(handled("UNAUTHENTICATED")).toBe(summary.junk.calls);
    } finally {
      await gateway.stop();
    }
  });

  it("speaks TLS through the lean client: with the CA every call succeeds, without it none does", async () => {
    const certs = join(dir.path, "certs");
    await mkdir(certs);
    const ca = await createCa(certs, "loadgen-ca");
    const server = await issue(certs, ca, "server", "localhost");
    const dataDir = join(dir.path, "h2-tls");
    const gateway = await startGateway(dataDir, [
      "--tls-cert-file",
      server.certFile,
      "--tls-key-file",
      server.keyFile,
    ]);
    try {
      const boot = await readBootstrap(dataDir);
      const run = (...tls: string[]) =>
        loadgen(gateway.target, dataDir, boot.projectId, [
          "--client",
          "h2",
          ...tls,
          "--agents",
          "2",
          "--rate",
          "20",
          "--duration",
          "1s",
          "--mix",
          "writearrow=100",
          "--timeout",
          "2s",
        ]);
      const trusted = json(await run("--tls-ca-file", ca.certFile, "--tls-server-name", "localhost"));
      expect(trusted.calls).toBeGreaterThan(10);
      expect(trusted.codes).toEqual({ OK: trusted.calls });
      // Refused on every call: the summary, and a failure exit saying so.
      const refused = await run("--tls", "--tls-server-name", "localhost");
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/none of the \d+ calls succeeded \(UNAVAILABLE\)/);
      const untrusted = JSON.parse(refused.stdout);
      expect(untrusted.calls).toBeGreaterThan(0);
      expect(untrusted.codes).toEqual({ UNAVAILABLE: untrusted.calls });
      expect((await sinkRecords(dataDir, boot.projectId)).length).toBe(trusted.calls);
    } finally {
      await gateway.stop();
    }
  });
});
