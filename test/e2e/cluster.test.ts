import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { AdminClient } from "../../src/cli/iam/admin-client.js";
import {
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
} from "../../src/gen/profgate/iam/v1/iam_pb.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { type RedisCluster, startRedisCluster } from "../support/redis-server.js";
import { tempDir } from "../support/temp-dir.js";

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => status.OK,
    (e: { code: number }) => e.code,
  );

describe("two replicas on a 3-master Redis Cluster", () => {
  let cluster: RedisCluster;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    dir = await tempDir();
    const flags = ["--redis-cluster-nodes", cluster.nodes.join(",")];
    a = await startGateway(join(dir.path, "a"), flags);
    b = await startGateway(join(dir.path, "b"), flags);
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await cluster?.stop();
    await dir?.remove();
  });

  it("accepts pushes on both replicas and revokes across them", async () => {
    const boot = await readBootstrap(join(dir.path, "a"));
    expect(a.lines.join("\n")).toContain('"iamStore":"redis-cluster"');
    const admin = <S extends DescService>(s: S) => new AdminClient(s, a.adminTarget, boot.ownerToken);
    const sa = (await admin(ServiceAccountService).call("createServiceAccount", { name: "clustered" }))
      .serviceAccount!;
    await admin(RoleBindingService).call("createRoleBinding", { serviceAccountId: sa.id, role: "writer" });
    const tokens = admin(ServiceAccountTokenService);
    const token = (await tokens.call("createServiceAccountToken", { serviceAccountId: sa.id, name: "c" }))
      .token!;
    const agent = new AgentClient(b.target, { token: token.token, projectId: boot.projectId });
    expect(await codeOf(agent.writeArrow(encodeArrowV2()))).toBe(status.OK);
    await tokens.call("deleteServiceAccountToken", { id: token.id });
    const deadline = Date.now() + 1000;
    let code = status.OK;
    while (code === status.OK && Date.now() < deadline)
      code = await codeOf(agent.writeArrow(encodeArrowV2()));
    expect(code).toBe(status.UNAUTHENTICATED);
    agent.close();
    tokens.close();
  });
});
