import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { adminServices, ADMIN_POLICIES } from "./admin/admin-services.js";
import { addReflection } from "./admin/reflection.js";
import { authInterceptor, type MethodPolicy } from "./auth/auth-interceptor.js";
import { file_profgate_iam_v1_iam } from "./gen/profgate/iam/v1/iam_pb.js";
import { Authenticator } from "./auth/authenticator.js";
import { UsageRecorder } from "./auth/usage-recorder.js";
import { formatHostPort, type HostPort } from "./config/flag-spec.js";
import type { ServeConfig } from "./config/serve-flags.js";
import { bootstrapInstallation } from "./iam/bootstrap.js";
import { IamEvents } from "./iam/iam-events.js";
import { IamService } from "./iam/iam-service.js";
import { openIamStore } from "./iam/store/open-iam-store.js";
import { AgentRegistry } from "./ingest/agent-registry.js";
import { DebuginfoStore } from "./ingest/debuginfo/debuginfo-store.js";
import { INGEST_POLICIES, ingestServices } from "./ingest/ingest-services.js";
import { LocalSink } from "./ingest/sink/local-sink.js";

/** Parca's server accepts messages up to 64 MiB; agents send up to 32 MiB. */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** A running gateway. */
export interface Gateway {
  grpcAddress: HostPort;
  adminAddress: HostPort;
  close(): Promise<void>;
}

function bind(server: Server, address: HostPort): Promise<number> {
  return new Promise((resolvePort, reject) =>
    server.bindAsync(formatHostPort(address), ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolvePort(port),
    ),
  );
}

/**
 * The composition root: builds the store, services and servers once from the frozen config,
 * starts listening, and returns what shuts it all down again.
 */
export async function startGateway(config: ServeConfig, log: Logger): Promise<Gateway> {
  const dataDir = resolve(config.dataDir);
  const events = new IamEvents();
  const opened = await openIamStore({ ...config, dataDir }, events, log);
  const store = opened.store;
  const iam = new IamService(store, { events });
  const boot = await bootstrapInstallation(iam, store, dataDir);

  const sink = await LocalSink.open({
    dir: join(dataDir, "sink"),
    onWarning: (message, details) => log.warn({ details }, message),
  });
  const debuginfo = new DebuginfoStore({ dir: join(dataDir, "debuginfo") });
  const authenticator = new Authenticator({
    store,
    events,
    cache: {
      maxEntries: config.authCacheSize,
      ttlMs: config.authCacheTtl,
      negativeTtlMs: config.authNegativeCacheTtl,
      staleWindowMs: config.authStaleWindow,
    },
  });
  const usage = new UsageRecorder({
    store,
    flushIntervalMs: config.lastUsedFlushInterval,
    onError: (error) => log.warn({ err: error }, "could not record tokens' last-used dates; will retry"),
  });

  const auth = (policies: ReadonlyMap<string, MethodPolicy>) =>
    authInterceptor({
      authenticator,
      policyFor: (path) => (path.startsWith("/grpc.reflection.") ? "public" : policies.get(path)),
      onAllowed: (context) => usage.note(context.tokenId, context.organizationId),
    });

  const server = new Server({
    "grpc.max_receive_message_length": MAX_RECEIVE_BYTES,
    interceptors: [auth(INGEST_POLICIES)],
  });
  const deps = {
    sink,
    debuginfo,
    agents: new AgentRegistry(),
    log,
    now: Date.now,
    writeExchangeTimeoutMs: 5000,
  };
  for (const service of ingestServices(deps)) server.addService(service.definition, service.implementation);

  const admin = new Server({ interceptors: [auth(ADMIN_POLICIES)] });
  for (const service of adminServices(iam)) admin.addService(service.definition, service.implementation);
  addReflection(admin, [file_profgate_iam_v1_iam]);

  const grpcAddress = { host: config.grpcAddress.host, port: await bind(server, config.grpcAddress) };
  const adminAddress = { host: config.adminAddress.host, port: await bind(admin, config.adminAddress) };

  if (!boot.created && !boot.info) {
    log.info(
      "the IAM store was bootstrapped by another replica; its token files are in that replica's data dir",
    );
  }
  if (boot.created && boot.info) {
    const host = ["0.0.0.0", "::"].includes(grpcAddress.host) ? hostname() : grpcAddress.host;
    log.info(
      {
        ownerTokenFile: boot.ownerTokenFile,
        agentTokenFile: boot.agentTokenFile,
        bootstrapFile: join(dataDir, "bootstrap.json"),
        ...boot.info,
      },
      "created the default organization, project and service accounts; their tokens are in the token files",
    );
    log.info(
      `push with: parca-agent --remote-store-address=${formatHostPort({ host, port: grpcAddress.port })} --remote-store-insecure ` +
        `--remote-store-bearer-token-file=${boot.agentTokenFile} --remote-store-grpc-headers=projectID=${boot.info.projectId}`,
    );
  }

  log.info(
    {
      grpcAddress: formatHostPort(grpcAddress),
      adminAddress: formatHostPort(adminAddress),
      dataDir,
      iamStore: opened.kind,
    },
    "profgate is listening",
  );

  return {
    grpcAddress,
    adminAddress,
    async close() {
      await Promise.all([server, admin].map((s) => new Promise<void>((done) => s.tryShutdown(() => done()))));
      await usage.close();
      await sink.close();
      await opened.close();
    },
  };
}
