import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Authenticator } from "../../auth/authenticator.js";
import { decide } from "../../auth/auth-decision.js";
import { headerCredentials } from "../../edge/front-gate.js";
import type { Actor } from "../../iam/actor.js";
import { bootstrapInstallation } from "../../iam/bootstrap.js";
import { IamEvents } from "../../iam/iam-events.js";
import { IamService } from "../../iam/iam-service.js";
import { openIamStore } from "../../iam/store/open-iam-store.js";
import { createLogger } from "../../observability/logger.js";
import { percentile } from "../harness/side-by-side.js";

/** Latency percentiles of one kind of decision, microseconds. */
export interface DecisionLatency {
  decisions: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  meanUs: number;
}

function summarize(samples: number[]): DecisionLatency {
  return {
    decisions: samples.length,
    p50Us: percentile(samples, 0.5),
    p99Us: percentile(samples, 0.99),
    p999Us: percentile(samples, 0.999),
    meanUs: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length),
  };
}

/**
 * The auth decision in process, against a Redis IAM store on loopback: what the edge
 * does for one call (parse the bearer token and project id, resolve the principal, authorize
 * profile.write in the project), timed one decision at a time. Warm: every token cached. Cold:
 * every cache entry expired before each decision, so the principal (with its organization) and
 * the project are read from Redis, the two lookups at once; 1,000 cold decisions run first, so
 * that the cold path is compiled as it is in a gateway that has been running. Prints one JSON
 * document.
 *
 * `node dist/bench/clients/auth-decision.js --redis-url URL [--tokens 200] [--warm 100000] [--cold 2000]`
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "redis-url": { type: "string" },
      tokens: { type: "string", default: "200" },
      warm: { type: "string", default: "100000" },
      cold: { type: "string", default: "2000" },
    },
  });
  const dataDir = await mkdtemp(join(tmpdir(), "profgate-bench-auth-"));
  const events = new IamEvents();
  const opened = await openIamStore(
    { dataDir, redisUrl: values["redis-url"], redisKeyPrefix: `bench-auth-${process.pid}:` },
    events,
    createLogger("silent"),
  );
  try {
    const iam = new IamService(opened.store, { events });
    const boot = await bootstrapInstallation(iam, opened.store, dataDir);
    const info = boot.info!;
    const owner: Actor = {
      organizationId: info.organizationId,
      serviceAccountId: info.ownerServiceAccountId,
      grants: [{ role: "owner" }],
    };
    const wanted = Number(values.tokens);
    const headers: string[] = [];
    for (let account = 0; headers.length < wanted; account++) {
      const sa = await iam.createServiceAccount(owner, `bench-${account}`);
      await iam.createRoleBinding(owner, {
        serviceAccountId: sa.id,
        role: "writer",
        projectId: info.projectId,
      });
      for (let i = 0; i < iam.limits.tokensPerServiceAccount && headers.length < wanted; i++) {
        headers.push(
          `Bearer ${(await iam.createToken(owner, { serviceAccountId: sa.id, name: `t${i}` })).secret}`,
        );
      }
    }
    const authenticator = new Authenticator({ store: opened.store, events });
    // The edge's own decision, on the headers an agent sends.
    const calls = headers.map((authorization) => ({
      ":path": "/parca.profilestore.v1alpha1.ProfileStoreService/WriteArrow",
      "content-type": "application/grpc",
      authorization,
      projectid: info.projectId,
    }));
    const policy = { permission: "profile.write", project: true } as const;
    const decideCall = (call: (typeof calls)[number]) =>
      decide({ authenticator }, policy, headerCredentials(call), "127.0.0.1:40000");
    const time = async (count: number, before?: () => void) => {
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        before?.();
        const call = calls[i % calls.length]!;
        const started = process.hrtime.bigint();
        await decideCall(call);
        samples.push(Number(process.hrtime.bigint() - started) / 1000);
      }
      return samples;
    };
    const warmCount = Number(values.warm);
    const coldCount = Number(values.cold);
    await time(Math.min(coldCount, 1000), () => authenticator.invalidate({ kind: "everything" }));
    const cold = await time(coldCount, () => authenticator.invalidate({ kind: "everything" }));
    // Every token cached, and the warm path compiled, before measuring it.
    await time(Math.max(headers.length, Math.min(warmCount, 20_000)));
    const warm = await time(warmCount);
    process.stdout.write(
      `${JSON.stringify({ tokens: headers.length, warm: summarize(warm), cold: summarize(cold) })}\n`,
    );
  } finally {
    await opened.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
