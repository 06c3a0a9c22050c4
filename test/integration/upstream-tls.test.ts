import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { createCa, type IssuedCertificate, issue } from "../support/certificates.js";
import { inProcessGateway } from "../support/in-process-gateway.js";
import { sinkRecords } from "../support/sink-contents.js";
import { tempDir } from "../support/temp-dir.js";

type InProcess = Awaited<ReturnType<typeof inProcessGateway>>;

describe("forwarding to an upstream over TLS", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let core: InProcess;
  let cert: IssuedCertificate;
  const started: InProcess[] = [];
  const edgeWith = async (flags: string[]) => {
    const edge = await inProcessGateway([
      `--upstream-address=127.0.0.1:${core.gateway.grpcAddress.port}`,
      `--upstream-bearer-token-file=${join(core.dataDir, "agent.token")}`,
      `--upstream-grpc-headers=projectID=${core.boot.projectId}`,
      "--upstream-timeout=3s",
      ...flags,
    ]);
    started.push(edge);
    return edge;
  };
  const write = async (edge: InProcess) => {
    const agent = new AgentClient(edge.target, {
      token: edge.boot.agentToken,
      projectId: edge.boot.projectId,
    });
    try {
      await agent.writeArrow(encodeArrowV2());
      return status.OK;
    } catch (error) {
      return (error as { code: number }).code;
    } finally {
      agent.close();
    }
  };

  beforeAll(async () => {
    dir = await tempDir();
    const ca = await createCa(dir.path, "upstream");
    cert = await issue(dir.path, ca, "core", "localhost");
    core = await inProcessGateway([`--tls-cert-file=${cert.certFile}`, `--tls-key-file=${cert.keyFile}`]);
  });
  afterAll(async () => {
    for (const edge of started) await edge.close();
    await core?.close();
    await dir?.remove();
  });

  it("verifies the upstream's certificate against --upstream-tls-ca-file, by address or by --upstream-tls-server-name", async () => {
    expect(await write(await edgeWith([`--upstream-tls-ca-file=${cert.caFile}`]))).toBe(status.OK);
    expect(
      await write(
        await edgeWith([`--upstream-tls-ca-file=${cert.caFile}`, "--upstream-tls-server-name=localhost"]),
      ),
    ).toBe(status.OK);
    expect(await sinkRecords(core.dataDir, core.boot.projectId)).toHaveLength(2);
  });

  it("refuses an upstream it cannot verify, or a name the certificate does not carry: UNAVAILABLE", async () => {
    expect(await write(await edgeWith([]))).toBe(status.UNAVAILABLE);
    expect(
      await write(
        await edgeWith([
          `--upstream-tls-ca-file=${cert.caFile}`,
          "--upstream-tls-server-name=core.example.com",
        ]),
      ),
    ).toBe(status.UNAVAILABLE);
    expect(await write(await edgeWith(["--upstream-insecure"]))).toBe(status.UNAVAILABLE);
  });
});
