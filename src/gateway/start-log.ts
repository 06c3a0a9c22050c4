import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { formatHostPort, type HostPort } from "../config/flag-spec.js";
import type { ServeConfig } from "../config/serve-flags.js";
import type { bootstrapInstallation } from "../iam/bootstrap.js";

/** What a started gateway tells its operator. */
export interface Started {
  config: ServeConfig;
  boot: Awaited<ReturnType<typeof bootstrapInstallation>>;
  dataDir: string;
  grpcAddress: HostPort;
  adminAddress: HostPort;
  httpAddress: HostPort;
  consoleAddress: HostPort | undefined;
  otlpHttpAddress: HostPort | undefined;
  store: string;
}

/**
 * The start-up lines: where the bootstrap tokens are and how to push (on the first start), and
 * where the gateway listens. Flushed at once, since a supervisor may be waiting for them.
 */
export function logStart(log: Logger, started: Started): void {
  const { boot, grpcAddress } = started;
  if (!boot.created && !boot.info) {
    log.info(
      "the IAM store was bootstrapped by another replica; its token files are in that replica's data dir",
    );
  }
  if (boot.info) {
    const host = ["0.0.0.0", "::"].includes(grpcAddress.host) ? hostname() : grpcAddress.host;
    const dial = started.config.advertiseAddress ?? formatHostPort({ host, port: grpcAddress.port });
    const transport = started.config.tlsCertFile ? "" : " --remote-store-insecure";
    // Also on later starts from the same data dir: a first start that failed after bootstrapping
    // (a port in use) must not have swallowed where the tokens are and how to push.
    log.info(
      {
        ownerTokenFile: boot.ownerTokenFile,
        agentTokenFile: boot.agentTokenFile,
        bootstrapFile: join(started.dataDir, "bootstrap.json"),
        ...boot.info,
      },
      boot.created
        ? "created the default organization, project and service accounts; their tokens are in the token files"
        : "the default organization, project and service accounts were created by an earlier start; their tokens are in the token files",
    );
    log.info(
      `push with: parca-agent --remote-store-address=${dial}${transport} ` +
        `--remote-store-bearer-token-file=${boot.agentTokenFile} --remote-store-grpc-headers=projectID=${boot.info.projectId}`,
    );
  }
  log.info(
    {
      grpcAddress: formatHostPort(grpcAddress),
      adminAddress: formatHostPort(started.adminAddress),
      httpAddress: formatHostPort(started.httpAddress),
      consoleAddress: started.consoleAddress ? formatHostPort(started.consoleAddress) : undefined,
      otlpHttpAddress: started.otlpHttpAddress ? formatHostPort(started.otlpHttpAddress) : undefined,
      tls: started.config.tlsCertFile !== undefined,
      dataDir: started.dataDir,
      iamStore: started.store,
    },
    "profgate is listening",
  );
  // Log lines are written in batches; what a supervisor waits for goes out at once.
  log.flush();
}
