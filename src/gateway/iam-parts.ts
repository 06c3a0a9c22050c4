import type { Logger } from "pino";
import { Authenticator } from "../auth/authenticator.js";
import { UsageRecorder } from "../auth/usage-recorder.js";
import type { ServeConfig } from "../config/serve-flags.js";
import { bootstrapInstallation } from "../iam/bootstrap.js";
import { IamEvents } from "../iam/iam-events.js";
import { IamService } from "../iam/iam-service.js";
import type { IamStore } from "../iam/store/iam-store.js";
import { openIamStore } from "../iam/store/open-iam-store.js";
import { authMetricsHooks } from "../observability/auth-metrics.js";
import { meteredStore } from "../observability/metered-store.js";
import type { ProfgateMetrics } from "../observability/metrics.js";

/** The IAM side of a gateway: the store, the IAM service, the cached authenticator, token usage. */
export interface IamParts {
  /** Every IAM change, local or from another replica. */
  events: IamEvents;
  store: IamStore;
  iam: IamService;
  authenticator: Authenticator;
  usage: UsageRecorder;
  boot: Awaited<ReturnType<typeof bootstrapInstallation>>;
  /** `embedded`, `redis` or `redis-cluster`. */
  kind: string;
  /** Whether the store is reachable now (readiness). */
  available(): boolean;
  /** Writes the last-used dates still queued, then closes the store. */
  close(): Promise<void>;
}

/**
 * Opens the IAM store the flags select (timed into the store metrics), bootstraps an empty one,
 * and builds the authenticator with its cache and the last-used recorder on top of it.
 */
export async function openIam(
  config: ServeConfig,
  dataDir: string,
  metrics: ProfgateMetrics,
  log: Logger,
): Promise<IamParts> {
  const events = new IamEvents();
  const opened = await openIamStore({ ...config, dataDir }, events, log);
  let available = true;
  opened.store.onAvailabilityChange?.((now) => {
    available = now;
  });
  const store = meteredStore(opened.store, metrics.store);
  const iam = new IamService(store, { events });
  const boot = await bootstrapInstallation(iam, store, dataDir, {
    ownerTokenFile: config.bootstrapOwnerTokenFile,
    agentTokenFile: config.bootstrapAgentTokenFile,
    projectId: config.bootstrapProjectId,
  });
  const authenticator = new Authenticator({
    store,
    events,
    cache: {
      maxEntries: config.authCacheSize,
      ttlMs: config.authCacheTtl,
      negativeTtlMs: config.authNegativeCacheTtl,
      staleWindowMs: config.authStaleWindow,
    },
    onCacheEvent: authMetricsHooks(metrics.auth).onCacheEvent,
  });
  const usage = new UsageRecorder({
    store,
    flushIntervalMs: config.lastUsedFlushInterval,
    onError: (error) => log.warn({ err: error }, "could not record tokens' last-used dates; will retry"),
  });
  return {
    events,
    store,
    iam,
    authenticator,
    usage,
    boot,
    kind: opened.kind,
    available: () => available,
    async close() {
      await usage.close();
      await opened.close();
    },
  };
}
