import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { status } from "@grpc/grpc-js";
import { AgentClient } from "../../agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../agent-sim/index.js";
import { AdminClient } from "../../cli/iam/admin-client.js";
import {
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
} from "../../gen/profgate/iam/v1/iam_pb.js";
import { percentile } from "../harness/side-by-side.js";

const codeOf = (promise: Promise<unknown>): Promise<number> =>
  promise.then(
    () => status.OK,
    (error: { code?: number }) => error.code ?? status.UNKNOWN,
  );

/**
 * Revocation across two replicas sharing one Redis: for each of `--count` tokens, create it
 * through replica A's admin API, push once through replica B (so B caches it), delete it through
 * A, then push through B back to back until B refuses. The latency is from the moment the delete
 * was sent to the first refusal B sent. Prints one JSON document.
 *
 * `node dist/bench/clients/revocation.js --admin A_ADMIN --owner-token-file F --target B_GRPC --project ID [--count 100]`
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: "string" },
      "owner-token-file": { type: "string" },
      target: { type: "string" },
      project: { type: "string" },
      count: { type: "string", default: "100" },
    },
  });
  const owner = readFileSync(values["owner-token-file"] ?? "", "utf8").trim();
  const adminTarget = values.admin ?? "";
  const accounts = new AdminClient(ServiceAccountService, adminTarget, owner);
  const bindings = new AdminClient(RoleBindingService, adminTarget, owner);
  const tokens = new AdminClient(ServiceAccountTokenService, adminTarget, owner);
  const payload = encodeArrowV2({ payloadBytes: 256 });
  const latencies: number[] = [];
  let pushes = 0;
  try {
    const sa = (await accounts.call("createServiceAccount", { name: `revocation-${process.pid}` }))
      .serviceAccount!;
    await bindings.call("createRoleBinding", { serviceAccountId: sa.id, role: "writer" });
    for (let i = 0; i < Number(values.count); i++) {
      const created = (
        await tokens.call("createServiceAccountToken", { serviceAccountId: sa.id, name: `r${i}` })
      ).token!;
      const agent = new AgentClient(values.target ?? "", {
        token: created.token,
        projectId: values.project ?? "",
      });
      try {
        const first = await codeOf(agent.writeArrow(payload));
        if (first !== status.OK) throw new Error(`a fresh token was refused by replica B (code ${first})`);
        const deletedAt = performance.now();
        const deleted = tokens.call("deleteServiceAccountToken", { id: created.id });
        let code: number = status.OK;
        while (code === status.OK && performance.now() - deletedAt < 10_000) {
          code = await codeOf(agent.writeArrow(payload));
          pushes++;
        }
        latencies.push(performance.now() - deletedAt);
        await deleted;
        if (code !== status.UNAUTHENTICATED)
          throw new Error(`replica B answered ${code}, not UNAUTHENTICATED`);
      } finally {
        agent.close();
      }
    }
  } finally {
    for (const client of [accounts, bindings, tokens]) client.close();
  }
  process.stdout.write(
    `${JSON.stringify({
      revocations: latencies.length,
      pushes,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: Math.max(...latencies),
      latenciesMs: latencies.map((l) => Math.round(l * 100) / 100),
    })}\n`,
  );
}

await main();
