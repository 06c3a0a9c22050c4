import { readConfigFile } from "../config/config-file.js";
import { ConfigError, flagHelp, loadFlags, peekFlag } from "../config/load-flags.js";
import { checkServeFlags, SERVE_FLAGS } from "../config/serve-flags.js";
import { dataDirError } from "../gateway/data-dir-error.js";
import { startGateway } from "../main.js";
import { routeGrpcJsLogs } from "../observability/grpc-js-log.js";
import { createLogger } from "../observability/logger.js";
import { fail } from "./command.js";

/** `profgate serve`: parses the flags, starts the gateway, stops it on SIGTERM or SIGINT. */
export async function runServe(args: string[]): Promise<void> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(
      `Usage: profgate serve [flags]\n\nEach flag can also be set by its environment variable; a flag wins over the variable.\n\n${flagHelp(SERVE_FLAGS)}\n`,
    );
    return;
  }
  let config: ReturnType<typeof loadFlags<typeof SERVE_FLAGS>>;
  try {
    const configFile = peekFlag("config", args, process.env);
    const file = configFile
      ? { values: await readConfigFile(configFile, SERVE_FLAGS), fileName: configFile }
      : undefined;
    config = loadFlags(SERVE_FLAGS, args, process.env, file);
    checkServeFlags(config);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, 2);
    throw error;
  }
  const log = createLogger(config.logLevel);
  routeGrpcJsLogs(log);
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, log);
  } catch (error) {
    if (error instanceof ConfigError) {
      fail(error.message, 2);
      log.flush(() => process.exit());
      return;
    }
    const explained = dataDirError(error, config.dataDir);
    log.fatal({ err: explained }, "profgate could not start");
    fail(`could not start: ${(explained as Error).message}`);
    // Listeners bound before the failure would keep a half-started gateway running.
    log.flush(() => process.exit());
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: the operator does not want to wait for the grace period.
      log.warn({ signal }, "second signal during shutdown: exiting now, calls in flight cut off");
      log.flush(() => process.exit(1));
      return;
    }
    stopping = true;
    log.info(
      { signal, graceSeconds: config.shutdownGrace / 1000 },
      "shutting down: finishing calls in flight",
    );
    gateway.close().then(
      ({ forced }) => {
        if (forced) log.warn("calls still running after the shutdown grace were cut off");
        log.info("stopped");
        log.flush();
        process.exitCode = 0;
      },
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        log.flush();
        process.exitCode = 1;
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
