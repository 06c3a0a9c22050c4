import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Server, UntypedServiceImplementation } from "@grpc/grpc-js";
import { Registry } from "prom-client";
import { attachAuthContext, authInterceptor, findAuthContext } from "../../auth/auth-interceptor.js";
import { Authenticator } from "../../auth/authenticator.js";
import type { AuthContext } from "../../auth/principal.js";
import { UsageRecorder } from "../../auth/usage-recorder.js";
import { bootstrapInstallation } from "../../iam/bootstrap.js";
import { IamEvents } from "../../iam/iam-events.js";
import { IamService } from "../../iam/iam-service.js";
import { EmbeddedIamStore } from "../../iam/store/embedded-store.js";
import { AgentRegistry } from "../../ingest/agent-registry.js";
import { DebuginfoStore } from "../../ingest/debuginfo/debuginfo-store.js";
import type { IngestDeps } from "../../ingest/ingest-deps.js";
import { INGEST_POLICIES, ingestServices } from "../../ingest/ingest-services.js";
import { LocalSink } from "../../ingest/sink/local-sink.js";
import { MAX_RECEIVE_BYTES } from "../../main.js";
import { authMetricsHooks } from "../../observability/auth-metrics.js";
import { callLogger } from "../../observability/call-log.js";
import { grpcMetricsInterceptor } from "../../observability/grpc-metrics-interceptor.js";
import { createLogger } from "../../observability/logger.js";
import { meteredSink } from "../../observability/metered-sink.js";
import { meteredStore } from "../../observability/metered-store.js";
import { createMetrics } from "../../observability/metrics.js";
import { createGrpcServer } from "../../rpc/grpc-server.js";
import { listenAsGateway } from "./gateway-listener.js";

/**
 * The gateway's ingestion path built from the same modules as `src/main.ts` (embedded IAM
 * store, metrics interceptor, per-call log, auth interceptor with its metrics and last-used
 * recording, the ingest handlers, the metered durable local sink), with the auth interceptor
 * switchable: `--auth off` drops it and hands every call the agent token's context instead,
 * which is the baseline of the auth-overhead benchmark. Both variants are this one file, so
 * they differ in the interceptor only.
 *
 * `node dist/bench/servers/bench-gateway.js --data-dir DIR [--auth on|off] [--grpc-address 127.0.0.1:0]`
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "data-dir": { type: "string" },
      auth: { type: "string", default: "on" },
      "grpc-address": { type: "string", default: "127.0.0.1:0" },
      "log-level": { type: "string", default: "info" },
    },
  });
  const dataDir = resolve(values["data-dir"] ?? "./bench-data");
  const auth = values.auth !== "off";
  const log = createLogger(values["log-level"] === "silent" ? "silent" : "info");
  const registry = new Registry();
  const metrics = createMetrics(registry, { perProject: false });
  const events = new IamEvents();
  const rawStore = await EmbeddedIamStore.open(dataDir);
  const store = meteredStore(rawStore, metrics.store);
  const boot = await bootstrapInstallation(new IamService(store, { events }), store, dataDir);
  const sink = await LocalSink.open({
    dir: join(dataDir, "sink"),
    onWarning: (message, details) => log.warn({ details }, message),
  });
  const authHooks = authMetricsHooks(metrics.auth);
  const authenticator = new Authenticator({ store, events, onCacheEvent: authHooks.onCacheEvent });
  const usage = new UsageRecorder({ store, onError: (error) => log.warn({ err: error }, "last-used") });
  const onCallEnd = callLogger({ log, contextOf: findAuthContext });

  const deps: IngestDeps = {
    sink: meteredSink(sink, metrics),
    debuginfo: new DebuginfoStore({ dir: join(dataDir, "debuginfo") }),
    agents: new AgentRegistry(),
    log,
    now: Date.now,
    writeExchangeTimeoutMs: 5000,
    onRejected: (method, reason) => metrics.ingest.rejections.inc({ method, reason }),
  };
  const server: Server = createGrpcServer({
    maxReceiveBytes: MAX_RECEIVE_BYTES,
    interceptors: [
      grpcMetricsInterceptor(metrics.grpc, { onCallEnd }),
      ...(auth
        ? [
            authInterceptor({
              authenticator,
              policyFor: (path) => INGEST_POLICIES.get(path),
              onAllowed: (context) => usage.note(context.tokenId, context.organizationId),
              onDecision: authHooks.onDecision,
            }),
          ]
        : []),
    ],
  });
  const context: AuthContext = {
    ...(await authenticator.principal((await readFile(boot.agentTokenFile, "utf8")).trim())),
    projectId: boot.info?.projectId ?? "",
  };
  for (const service of ingestServices(deps)) {
    server.addService(
      service.definition,
      auth ? service.implementation : unchecked(service.implementation, context),
    );
  }
  const { address: grpcAddress, stop: stopListening } = await listenAsGateway(server, values["grpc-address"]);
  log.info({ grpcAddress: `${grpcAddress.host}:${grpcAddress.port}`, auth }, "profgate is listening");

  const stop = async () => {
    await stopListening();
    await usage.close();
    await sink.close();
    await rawStore.close();
    log.flush();
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

/** Handlers that find `context` on every call, as if the auth interceptor had allowed it. */
function unchecked(implementation: UntypedServiceImplementation, context: AuthContext) {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const call = handler as (
      call: { metadata: import("@grpc/grpc-js").Metadata },
      ...rest: unknown[]
    ) => unknown;
    wrapped[name] = ((c: { metadata: import("@grpc/grpc-js").Metadata }, ...rest: unknown[]) => {
      attachAuthContext(c.metadata, context);
      return call(c, ...rest);
    }) as never;
  }
  return wrapped;
}

await main();
