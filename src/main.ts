import { resolve } from "node:path";
import { ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { adminServices } from "./admin/admin-services.js";
import { addReflection } from "./admin/reflection.js";
import type { AuthContext } from "./auth/principal.js";
import type { HostPort } from "./config/flag-spec.js";
import type { ServeConfig } from "./config/serve-flags.js";
import { startConsoleServer } from "./console/console-server.js";
import { agentEndpoint } from "./console/info-routes.js";
import { agentCredentials } from "./gateway/agent-credentials.js";
import { openDestination } from "./gateway/destination.js";
import { adminEdge, agentEdge, callDecision, type EdgeParts, openGuards } from "./gateway/edges.js";
import { openIam } from "./gateway/iam-parts.js";
import { startOtlpHttp } from "./gateway/otlp-http.js";
import { listenAs } from "./gateway/listen-as.js";
import { readiness } from "./gateway/readiness.js";
import { endRevokedCalls } from "./gateway/revocation.js";
import { logStart } from "./gateway/start-log.js";
import { file_profgate_iam_v1_iam } from "./gen/profgate/iam/v1/iam_pb.js";
import { createAdmission } from "./ingest/admission.js";
import { jetStreamSettings } from "./jetstream/jetstream-settings.js";
import { openJetStream } from "./jetstream/open-jetstream.js";
import { healthService } from "./observability/health-service.js";
import { HealthStatus } from "./observability/health-status.js";
import { startHttpServer } from "./observability/http-server.js";
import { createMetrics } from "./observability/metrics.js";
import { openRateLimiter } from "./ratelimit/open-rate-limiter.js";
import { upstreamSettings } from "./upstream/upstream-settings.js";

export { MAX_RECEIVE_BYTES } from "./gateway/edges.js";

/** A running gateway. */
export interface Gateway {
  grpcAddress: HostPort;
  adminAddress: HostPort;
  httpAddress: HostPort;
  /** The IAM web console's listener; undefined when `--console-address` is empty. */
  consoleAddress: HostPort | undefined;
  /**
   * Graceful shutdown: NOT_SERVING, no new calls, calls in flight finish (cut off after
   * `--shutdown-grace`), the sink flushed, the store closed. Resolves `forced` when calls had to
   * be cut off.
   */
  close(): Promise<{ forced: boolean }>;
}

/** How a gateway differs from `profgate serve`'s; only the benchmarks set it. */
export interface GatewayOptions {
  /** The agent listener trusts every call as the bootstrap agent token's: the no-auth baseline. */
  trustAgentToken?: boolean;
}

/**
 * The composition root: the frozen config -> metrics, IAM, where accepted calls go, the guards,
 * the agent and admin edges, the HTTP and console listeners; and what shuts it all down again.
 * Each part is built in src/gateway/; nothing here has behaviour of its own.
 */
export async function startGateway(
  config: ServeConfig,
  log: Logger,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const dataDir = resolve(config.dataDir);
  const forwarding = upstreamSettings(config, dataDir); // a bad upstream flag fails the start at once
  const jetStreamConfig = jetStreamSettings(config, forwarding !== undefined);
  const registry = new Registry();
  const metrics = createMetrics(registry, { perProject: config.metricsPerProject });
  const iam = await openIam(config, dataDir, metrics, log);
  const jetstream = jetStreamConfig ? await openJetStream(jetStreamConfig, registry, log) : undefined;
  const destination = await openDestination(config, dataDir, forwarding, metrics, log, jetstream);
  const limiter = await openRateLimiter({ ...config, dataDir }, log);
  const guards = openGuards(config, log, metrics);
  const parts: EdgeParts = {
    config,
    log,
    metrics,
    authenticator: iam.authenticator,
    onAllowed: (context) => iam.usage.note(context.tokenId, context.organizationId),
    trusted: options.trustAgentToken ? await agentTokenContext(iam) : undefined,
  };
  const admit = createAdmission({
    limiter,
    defaults:
      config.rateLimitBytesPerSecond > 0
        ? { bytesPerSecond: config.rateLimitBytesPerSecond, burstBytes: config.rateLimitBurstBytes }
        : undefined,
    onLimited: (projectId) => metrics.project?.rateLimited.inc({ project_id: projectId }),
  });

  const health = new HealthStatus();
  const agent = agentEdge(parts, guards, admit);
  for (const service of [...destination.services, healthService(health)]) agent.addService(service);
  const admin = adminEdge(parts, guards);
  for (const service of adminServices(iam.iam)) admin.addService(service);
  addReflection(admin.server, [file_profgate_iam_v1_iam]);
  const stopRevoking = endRevokedCalls(iam.events, iam.authenticator, [agent, admin]);

  const tls = await agentCredentials(config, log, metrics);
  const grpcAddress = await listenAs("grpc-address", config.grpcAddress, () =>
    agent.listen(config.grpcAddress, tls.credentials),
  );
  metrics.connections.countFrom(() => agent.connections);
  const adminAddress = await listenAs("admin-address", config.adminAddress, () =>
    admin.listen(config.adminAddress, ServerCredentials.createInsecure()),
  );
  const http = await listenAs("http-address", config.httpAddress, () =>
    startHttpServer({
      address: config.httpAddress,
      registry,
      log,
      health: readiness(iam, destination, health),
    }),
  );
  const consoleAddressFlag = config.consoleAddress;
  const consoleServer = consoleAddressFlag
    ? await listenAs("console-address", consoleAddressFlag, () =>
        startConsoleServer({
          address: consoleAddressFlag,
          tls:
            config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
              ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
              : undefined,
          iam: iam.iam,
          decide: callDecision(iam.authenticator, guards.operatorFailedAuth),
          onAllowed: (principal) => iam.usage.note(principal.tokenId, principal.organizationId),
          endpoint: agentEndpoint(grpcAddress, config.tlsCertFile !== undefined, config.advertiseAddress),
          log,
        }),
      )
    : undefined;
  const consoleAddress = consoleServer?.address;
  const otlpHttp = await startOtlpHttp(config, {
    authenticator: iam.authenticator,
    guards,
    admit,
    destination,
    metrics,
    log,
    onAllowed: parts.onAllowed,
  });
  logStart(log, {
    config,
    boot: iam.boot,
    dataDir,
    grpcAddress,
    adminAddress,
    httpAddress: http.address,
    consoleAddress,
    otlpHttpAddress: otlpHttp?.address,
    store: iam.kind,
  });

  return {
    grpcAddress,
    adminAddress,
    httpAddress: http.address,
    consoleAddress,
    async close() {
      health.shutdown();
      stopRevoking();
      const stopped = await Promise.all([
        agent.close(config.shutdownGrace),
        admin.close(config.shutdownGrace),
      ]);
      await Promise.all([consoleServer?.close(), otlpHttp?.close()]);
      guards.memory.close();
      await destination.close();
      await limiter.close();
      await iam.close();
      await http.close();
      tls.close();
      return { forced: stopped.some((s) => s.forced) };
    },
  };
}

/** The bootstrap agent token's context, for the no-auth baseline (`trustAgentToken`). */
async function agentTokenContext(iam: Awaited<ReturnType<typeof openIam>>): Promise<AuthContext> {
  const { readFile } = await import("node:fs/promises");
  const token = (await readFile(iam.boot.agentTokenFile, "utf8")).trim();
  return { ...(await iam.authenticator.principal(token)), projectId: iam.boot.info?.projectId ?? "" };
}
