import { ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ServeConfig } from "../config/serve-flags.js";
import { reloadingCredentials } from "../edge/tls-credentials.js";
import type { ProfgateMetrics } from "../observability/metrics.js";

/** The agent listener's credentials: TLS from the certificate flags (reloaded as they change), or h2c. */
export async function agentCredentials(
  config: ServeConfig,
  log: Logger,
  metrics: ProfgateMetrics,
): Promise<{ credentials: ServerCredentials; close(): void }> {
  if (config.tlsCertFile === undefined && config.tlsKeyFile === undefined) {
    return { credentials: ServerCredentials.createInsecure(), close: () => {} };
  }
  return reloadingCredentials(
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
        log.error({ err: error }, "could not reload the TLS certificate; still serving the previous one");
      },
    },
  );
}
