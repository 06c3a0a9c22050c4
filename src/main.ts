import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { type Server, ServerCredentials, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { ADMIN_POLICIES, adminServices } from "./admin/admin-services.js";
import { addReflection } from "./admin/reflection.js";
import { authInterceptor, findAuthContext, type MethodPolicy } from "./auth/auth-interceptor.js";
import { Authenticator } from "./auth/authenticator.js";
import { FailedAuthLimiter } from "./auth/failed-auth-limiter.js";
import { UsageRecorder } from "./auth/usage-recorder.js";
import { formatHostPort, type HostPort } from "./config/flag-spec.js";
import { startConsoleServer } from "./console/console-server.js";
import { agentEndpoint } from "./console/info-routes.js";
import type { ServeConfig } from "./config/serve-flags.js";
import { file_profgate_iam_v1_iam } from "./gen/profgate/iam/v1/iam_pb.js";
import { bootstrapInstallation } from "./iam/bootstrap.js";
import { clientGroup } from "./iam/cidr.js";
import { IamEvents } from "./iam/iam-events.js";
import { IamService } from "./iam/iam-service.js";
import { openIamStore } from "./iam/store/open-iam-store.js";
import { AgentRegistry } from "./ingest/agent-registry.js";
import { DebuginfoStore } from "./ingest/debuginfo/debuginfo-store.js";
import { createAdmission } from "./ingest/admission.js";
import type { IngestDeps } from "./ingest/ingest-deps.js";
import { INGEST_POLICIES, ingestServices } from "./ingest/ingest-services.js";
import { LocalSink } from "./ingest/sink/local-sink.js";
import { authMetricsHooks } from "./observability/auth-metrics.js";
import { callLogger } from "./observability/call-log.js";
import { grpcMetricsInterceptor } from "./observability/grpc-metrics-interceptor.js";
import { HEALTH_PATH_PREFIX, healthService } from "./observability/health-service.js";
import { HealthStatus } from "./observability/health-status.js";
import { startHttpServer } from "./observability/http-server.js";
import { meteredSink } from "./observability/metered-sink.js";
import { meteredStore } from "./observability/metered-store.js";
import { grpcCodeName } from "./observability/metric-labels.js";
import { createMetrics } from "./observability/metrics.js";
import { AbandonedStreamGuard } from "./rpc/abandoned-streams.js";
import { type GatedListener, listenGated } from "./rpc/gated-listener.js";
import { createGrpcServer, stopServers } from "./rpc/grpc-server.js";
import { memoryGuard } from "./rpc/memory-guard.js";
import { refuseOversizeWithInvalidArgument } from "./rpc/oversize-status.js";
import { reloadingCredentials } from "./rpc/tls-credentials.js";
import { openUpstream } from "./upstream/upstream-services.js";
import { upstreamSettings } from "./upstream/upstream-settings.js";

/** Parca's server accepts messages up to 64 MiB; agents send up to 32 MiB. */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

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

const isPublic = (path: string) =>
  path.startsWith("/grpc.reflection.") || path.startsWith(HEALTH_PATH_PREFIX);

/**
 * The composition root: builds the store, services and servers once from the frozen config,
 * starts listening, and returns what shuts it all down again.
 */
export async function startGateway(config: ServeConfig, log: Logger): Promise<Gateway> {
  const dataDir = resolve(config.dataDir);
  refuseOversizeWithInvalidArgument(MAX_RECEIVE_BYTES);
  // Validated before anything is opened, so a bad upstream flag fails the start at once.
  const forwarding = upstreamSettings(config, dataDir);
  const registry = new Registry();
  let listener: GatedListener | undefined;
  let adminListener: GatedListener | undefined;
  const metrics = createMetrics(registry, {
    perProject: config.metricsPerProject,
    openConnections: () => listener?.connections ?? 0,
  });
  const events = new IamEvents();
  const opened = await openIamStore({ ...config, dataDir }, events, log);
  let storeAvailable = true;
  opened.store.onAvailabilityChange?.((available) => {
    storeAvailable = available;
  });
  const store = meteredStore(opened.store, metrics.store);
  const iam = new IamService(store, { events });
  const boot = await bootstrapInstallation(iam, store, dataDir);

  const sink = await LocalSink.open({
    dir: join(dataDir, "sink"),
    onWarning: (message, details) => log.warn({ details }, message),
  });
  const authHooks = authMetricsHooks(metrics.auth);
  const authenticator = new Authenticator({
    store,
    events,
    cache: {
      maxEntries: config.authCacheSize,
      ttlMs: config.authCacheTtl,
      negativeTtlMs: config.authNegativeCacheTtl,
      staleWindowMs: config.authStaleWindow,
    },
    onCacheEvent: authHooks.onCacheEvent,
  });
  const usage = new UsageRecorder({
    store,
    flushIntervalMs: config.lastUsedFlushInterval,
    onError: (error) => log.warn({ err: error }, "could not record tokens' last-used dates; will retry"),
  });

  const health = new HealthStatus();
  const onCallEnd = callLogger({ log, contextOf: findAuthContext });
  const groupOf = (address: string) => clientGroup(address, config.peerIpv6Prefix);
  const failedAuth = new FailedAuthLimiter({
    burst: config.authFailureBurst,
    cooldownMs: config.authFailureCooldown,
    groupOf,
  });
  const memory = memoryGuard({
    softLimitBytes: config.memorySoftLimit,
    guarded: (path) => INGEST_POLICIES.has(path),
    onChange: (pressed, heapUsed, limit) => {
      metrics.memoryShedding.set(pressed ? 1 : 0);
      if (pressed)
        log.warn({ heapUsed, limit }, "memory above the soft limit: refusing new writes with UNAVAILABLE");
      else log.info({ heapUsed, limit }, "memory back below the soft limit: accepting writes again");
    },
  });
  const abandoned = new AbandonedStreamGuard({
    burst: config.abandonedStreamBurst,
    cooldownMs: config.abandonedStreamCooldown,
    groupOf,
    authorized: (call) => findAuthContext(call.metadata) !== undefined,
    cutOff: (address) => listener?.cutOff(address) ?? 0,
    onCutOff: (address, closedConnections) => {
      metrics.connections.cutOffs.inc({ reason: "abandoned_streams" });
      log.warn(
        { address, closedConnections, burst: config.abandonedStreamBurst },
        `a client address abandoned too many streams: closed its connections, refusing new ones for ${config.abandonedStreamCooldown / 1000}s`,
      );
    },
  });
  const interceptors = (policies: ReadonlyMap<string, MethodPolicy>, onEnd: typeof onCallEnd = onCallEnd) => [
    grpcMetricsInterceptor(metrics.grpc, { onCallEnd: onEnd }),
    memory.interceptor,
    authInterceptor({
      authenticator,
      failedAuth,
      policyFor: (path) => (isPublic(path) ? "public" : policies.get(path)),
      onAllowed: (context) => usage.note(context.tokenId, context.organizationId),
      onDecision: authHooks.onDecision,
    }),
  ];
  const defaultLimits =
    config.rateLimitBytesPerSecond > 0
      ? { bytesPerSecond: config.rateLimitBytesPerSecond, burstBytes: config.rateLimitBurstBytes }
      : undefined;

  const deps: IngestDeps = {
    sink: meteredSink(sink, metrics),
    debuginfo: new DebuginfoStore({ dir: join(dataDir, "debuginfo") }),
    agents: new AgentRegistry(),
    log,
    now: Date.now,
    writeExchangeTimeoutMs: 5000,
    uploadTimeoutMs: config.uploadTimeout,
    admit: createAdmission({
      limiter: opened.rateLimiter,
      defaults: defaultLimits,
      onLimited: (projectId) => metrics.project?.rateLimited.inc({ project_id: projectId }),
    }),
    onRejected: (method, reason) => metrics.ingest.rejections.inc({ method, reason }),
    onUpload: (result, bytes) => {
      metrics.ingest.debuginfoUploads.inc({ result });
      metrics.ingest.debuginfoUploadBytes.inc(bytes);
    },
  };
  const server: Server = createGrpcServer({
    maxReceiveBytes: MAX_RECEIVE_BYTES,
    maxConnectionAgeMs: config.maxConnectionAge,
    maxConnectionIdleMs: config.maxConnectionIdle,
    maxConcurrentStreams: config.maxConcurrentStreams,
    interceptors: interceptors(INGEST_POLICIES, (info) => {
      onCallEnd(info);
      abandoned.observe(info);
    }),
  });
  // Upstream mode: the same services, forwarded as bytes instead of handled here.
  const upstream = forwarding
    ? await openUpstream(forwarding, log, {
        admit: deps.admit,
        uploadTimeoutMs: config.uploadTimeout,
        onUpstreamCall: (method, seconds, code) => {
          metrics.ingest.upstreamSeconds.observe({ method }, seconds);
          if (code !== status.OK) metrics.ingest.upstreamErrors.inc({ method, code: grpcCodeName(code) });
        },
      })
    : undefined;
  const spoolGauges = setInterval(() => {
    const spool = upstream?.spoolStats();
    if (!spool) return;
    metrics.ingest.spoolBacklogRecords.set(spool.backlogRecords);
    metrics.ingest.spoolBacklogBytes.set(spool.backlogBytes);
  }, 1000);
  spoolGauges.unref();
  for (const service of upstream?.services ?? ingestServices(deps)) {
    server.addService(service.definition, service.implementation);
  }
  const healthBinding = healthService(health);
  server.addService(healthBinding.definition, healthBinding.implementation);

  const admin = createGrpcServer({ interceptors: interceptors(ADMIN_POLICIES) });
  for (const service of adminServices(iam)) admin.addService(service.definition, service.implementation);
  addReflection(admin, [file_profgate_iam_v1_iam]);

  const tls =
    config.tlsCertFile !== undefined || config.tlsKeyFile !== undefined
      ? await reloadingCredentials(
          {
            certFile: config.tlsCertFile ?? "",
            keyFile: config.tlsKeyFile ?? "",
            clientCaFile: config.tlsClientCaFile,
          },
          {
            intervalMs: 2000,
            onReload: () => log.info("reloaded the TLS certificate"),
            onError: (error) => {
              metrics.tlsReloadFailures.inc();
              log.error(
                { err: error },
                "could not reload the TLS certificate; still serving the previous one",
              );
            },
          },
        )
      : undefined;
  listener = await listenGated(
    server,
    config.grpcAddress,
    tls?.credentials ?? ServerCredentials.createInsecure(),
    {
      refuse: (address) => abandoned.refuses(address),
      groupOf,
      onError: (error) => log.error({ err: error }, "the gRPC listener failed to accept a connection"),
      receiveWindows: {
        streamBytes: config.http2StreamWindow,
        connectionBytes: config.http2ConnectionWindow,
      },
      onRefused: () => metrics.connections.refused.inc(),
    },
  );
  const grpcAddress = listener.address;
  adminListener = await listenGated(admin, config.adminAddress, ServerCredentials.createInsecure());
  const adminAddress = adminListener.address;
  const http = await startHttpServer({
    address: config.httpAddress,
    registry,
    log,
    health: () => {
      // An idle channel is not a failure: it connects on the next call.
      const upstreamState = upstream?.connectivity();
      const upstreamReady =
        upstreamState === undefined || !["TRANSIENT_FAILURE", "SHUTDOWN"].includes(upstreamState);
      return {
        ready: storeAvailable && upstreamReady && !health.shuttingDown,
        checks: {
          store: storeAvailable ? "ok" : "unreachable",
          ...(upstreamState !== undefined ? { upstream: upstreamState } : {}),
          shuttingDown: health.shuttingDown,
        },
      };
    },
  });

  // The IAM web console: the same authenticator, IAM service and usage recorder as the admin API.
  const consoleServer = config.consoleAddress
    ? await startConsoleServer({
        address: config.consoleAddress,
        tls:
          config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
            ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
            : undefined,
        iam,
        authenticator,
        adminPolicies: ADMIN_POLICIES,
        checkAddress: (principal, address) => authenticator.checkAddress(principal, address),
        onAllowed: (principal) => usage.note(principal.tokenId, principal.organizationId),
        endpoint: agentEndpoint(grpcAddress, config.tlsCertFile !== undefined),
        log,
      })
    : undefined;

  logStart(log, {
    config,
    boot,
    dataDir,
    grpcAddress,
    adminAddress,
    httpAddress: http.address,
    consoleAddress: consoleServer?.address,
    store: opened.kind,
  });

  return {
    grpcAddress,
    adminAddress,
    httpAddress: http.address,
    consoleAddress: consoleServer?.address,
    async close() {
      health.shutdown();
      const listeners = [listener, adminListener].filter((l) => l !== undefined);
      const { forced } = await stopServers([server, admin], listeners, config.shutdownGrace);
      await consoleServer?.close();
      memory.close();
      clearInterval(spoolGauges);
      await usage.close();
      await upstream?.close();
      await sink.close();
      await opened.close();
      await http.close();
      tls?.close();
      return { forced };
    },
  };
}

function logStart(
  log: Logger,
  started: {
    config: ServeConfig;
    boot: Awaited<ReturnType<typeof bootstrapInstallation>>;
    dataDir: string;
    grpcAddress: HostPort;
    adminAddress: HostPort;
    httpAddress: HostPort;
    consoleAddress: HostPort | undefined;
    store: string;
  },
): void {
  const { boot, grpcAddress } = started;
  if (!boot.created && !boot.info) {
    log.info(
      "the IAM store was bootstrapped by another replica; its token files are in that replica's data dir",
    );
  }
  if (boot.created && boot.info) {
    const host = ["0.0.0.0", "::"].includes(grpcAddress.host) ? hostname() : grpcAddress.host;
    const transport = started.config.tlsCertFile ? "" : " --remote-store-insecure";
    log.info(
      {
        ownerTokenFile: boot.ownerTokenFile,
        agentTokenFile: boot.agentTokenFile,
        bootstrapFile: join(started.dataDir, "bootstrap.json"),
        ...boot.info,
      },
      "created the default organization, project and service accounts; their tokens are in the token files",
    );
    log.info(
      `push with: parca-agent --remote-store-address=${formatHostPort({ host, port: grpcAddress.port })}${transport} ` +
        `--remote-store-bearer-token-file=${boot.agentTokenFile} --remote-store-grpc-headers=projectID=${boot.info.projectId}`,
    );
  }
  log.info(
    {
      grpcAddress: formatHostPort(grpcAddress),
      adminAddress: formatHostPort(started.adminAddress),
      httpAddress: formatHostPort(started.httpAddress),
      consoleAddress: started.consoleAddress ? formatHostPort(started.consoleAddress) : undefined,
      tls: started.config.tlsCertFile !== undefined,
      dataDir: started.dataDir,
      iamStore: started.store,
    },
    "profgate is listening",
  );
  // Log lines are written in batches; what a supervisor waits for goes out at once.
  log.flush();
}
