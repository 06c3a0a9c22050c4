import { readFile } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { metricValue, parseMetrics } from "../support/metrics-text.js";
import { floodPartialMessages } from "../support/partial-message-flood.js";
import { grpcHeaders } from "../support/raw-http2.js";
import { tempDir } from "../support/temp-dir.js";

const MiB = 1024 * 1024;

/** The gateway process's resident memory, in bytes. */
async function rssOf(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? 0) * 1024;
}

/**
 * A well-behaved agent pushing every 200 ms while `attack` runs; resolves with each push's
 * duration and code, and the gateway's peak RSS over the same time.
 */
async function whileAgentPushes(gateway: GatewayProcess, boot: BootstrapFiles, attack: () => Promise<void>) {
  const agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
  const pushes: Array<{ ms: number; code: number }> = [];
  let peak = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      peak = Math.max(peak, await rssOf(gateway.child.pid!));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const pushing = (async () => {
    while (running) {
      const started = performance.now();
      const code = await agent.writeArrow(encodeArrowV2()).then(
        () => status.OK,
        (e: { code: number }) => e.code,
      );
      pushes.push({ ms: performance.now() - started, code });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    await attack();
  } finally {
    running = false;
    await Promise.all([sampling, pushing]);
    agent.close();
  }
  return { pushes, peak };
}

describe("memory is bounded before authentication and before a message is complete", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(dir.path);
    boot = await readBootstrap(dir.path);
  });
  afterAll(async () => {
    await gateway?.stop("SIGKILL");
    await dir?.remove();
  });

  // 4 connections x 16 streams, each announcing 60 MiB and sending 24 MiB, then holding: the
  // attack that took an unbounded gateway from 100 MiB to 2 GiB.
  const attack = (headers: Record<string, string>) =>
    floodPartialMessages({
      target: gateway.target,
      localAddress: "127.0.0.2",
      connections: 4,
      streamsPerConnection: 16,
      headers: grpcHeaders(headers[":path"]!, headers),
      announcedBytes: 60 * MiB,
      sentBytes: 24 * MiB,
    });

  for (const [name, path, withToken] of [
    ["without a token, on the public health check", "/grpc.health.v1.Health/Check", false],
    ["with a writer token, on WriteRaw", "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw", true],
  ] as const) {
    it(`holds RSS growth under 256 MiB against 64 held partial 60 MiB messages ${name}, serving a good agent`, async () => {
      const before = await rssOf(gateway.child.pid!);
      let report: Awaited<ReturnType<Awaited<ReturnType<typeof attack>>["settled"]>> | undefined;
      const { pushes, peak } = await whileAgentPushes(gateway, boot, async () => {
        const flood = await attack({
          ":path": path,
          ...(withToken ? { authorization: `Bearer ${boot.agentToken}`, projectid: boot.projectId } : {}),
        });
        report = await flood.settled(1500);
        // Held: the gateway keeps whatever it accepted for as long as the attacker waits.
        await new Promise((r) => setTimeout(r, 1500));
        flood.release();
      });
      const line = `${name}: RSS ${Math.round(before / MiB)} -> peak ${Math.round(peak / MiB)} MiB; ${JSON.stringify(report)}; pushes ${pushes.length}, slowest ${Math.round(Math.max(...pushes.map((p) => p.ms)))} ms`;
      console.log(line);
      expect(peak - before, line).toBeLessThan(256 * MiB);
      expect(pushes.length, line).toBeGreaterThan(3);
      expect(
        pushes.every((p) => p.code === status.OK && p.ms < 2000),
        line,
      ).toBe(true);
      // Every stream was refused (answered or reset) but the few held within the bounds.
      const refused = Object.values(report!.statuses).reduce((a, b) => a + b, 0) + report!.reset;
      expect(refused + report!.held, line).toBe(64);
      expect(report!.held, line).toBeLessThanOrEqual(3);
      expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    });
  }

  it("tells the operator which bound refused the calls", async () => {
    const metrics = parseMetrics(await (await fetch(`${gateway.httpUrl}/metrics`)).text());
    const refusals =
      metricValue(metrics, "profgate_pending_refusals_total", { bound: "address" }) +
      metricValue(metrics, "profgate_pending_refusals_total", { bound: "connection" }) +
      metricValue(metrics, "profgate_pending_refusals_total", { bound: "total" });
    expect(refusals).toBeGreaterThan(0);
    expect(await gateway.log((log) => log.includes("incomplete messages"))).toMatch(
      /"address":"127\.0\.0\.2".*incomplete messages as its bounds allow/,
    );
  });
});
