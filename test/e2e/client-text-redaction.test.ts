import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import { generateToken } from "../../src/token/token.js";
import {
  type BootstrapFiles,
  type GatewayProcess,
  readBootstrap,
  startGateway,
} from "../support/gateway-process.js";
import { tempDir } from "../support/temp-dir.js";

/** Every 12-character piece of a secret's digits: none may reach the log or a reply. */
const pieces = (digits: string) =>
  Array.from({ length: digits.length - 11 }, (_, i) => digits.slice(i, i + 12));
const leaked = (text: string, digits: string[]) =>
  digits.filter((d) => pieces(d).some((piece) => text.includes(piece)));

/** The log lines of `msg`, parsed. */
const linesOf = (log: string, msg: string) =>
  log
    .split("\n")
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("a client's text in the gateway's log and replies: redacted before it is cut", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let gateway: GatewayProcess;
  let boot: BootstrapFiles;
  let agent: AgentClient;

  beforeAll(async () => {
    dir = await tempDir();
    gateway = await startGateway(dir.path);
    boot = await readBootstrap(dir.path);
    agent = new AgentClient(gateway.target, { token: boot.agentToken, projectId: boot.projectId });
  });
  afterAll(async () => {
    agent?.close();
    await gateway?.stop();
    await dir?.remove();
  });

  it("never logs a token a ReportPanic carries, wherever the 4096-character tail cuts it", async () => {
    const splitInDigits = generateToken().secret;
    const splitInPrefix = generateToken().secret;
    const bare = randomBytes(32).toString("hex");
    const end = "\ngoroutine 1 [running]:\nmain.main()\n";
    // The tail starts 24 digits into the first token, 3 characters into the second's prefix.
    const first = `panic: token ${splitInDigits}${end.padStart(4096 - 40, ".")}`.padStart(4200, "=");
    const second = `${"=".repeat(5000)}${splitInPrefix}\n${bare}\n${end.padStart(4096 - 68 - 66, ".")}`;
    expect(first.slice(-4096)).toContain(splitInDigits.slice(-40));
    expect(second.slice(-4096).startsWith("_v1_")).toBe(true);
    await agent.reportPanic(first, { agent_version: "v0.50.0" });
    await agent.reportPanic(second, { agent_version: "v0.50.0", note: `token ${bare}` });

    const log = await gateway.log((text) => linesOf(text, "agent reported a panic").length === 2);
    const panics = linesOf(log, "agent reported a panic");
    expect(panics.length).toBe(2);
    for (const line of panics) {
      const stderr = String(line["stderr"]);
      expect(stderr.length).toBeLessThanOrEqual(4096);
      expect(stderr.endsWith(end)).toBe(true);
    }
    const digits = [splitInDigits.slice(7), splitInPrefix.slice(7), bare];
    expect(leaked(log, digits)).toEqual([]);
  });

  it("never echoes a secret in a refused label name cut to 64 characters", async () => {
    const bare = randomBytes(32).toString("hex");
    // Cut first, 63 of its 64 digits would remain: no longer the length that marks a secret.
    const name = `-${bare}`;
    const refused = await agent
      .writeRaw({
        series: [
          {
            labels: {
              labels: [
                { name: "__name__", value: "cpu" },
                { name, value: "x" },
              ],
            },
            samples: [{ rawProfile: encodePprof({ seed: 1 }) }],
          },
        ],
      })
      .then(
        () => ({ code: status.OK, details: "" }),
        (error: { code: number; details: string }) => error,
      );
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toContain('invalid label name "-[REDACTED]"');
    const log = await gateway.log();
    expect(leaked(`${refused.details}\n${log}`, [bare])).toEqual([]);
  });
});
