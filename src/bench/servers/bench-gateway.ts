import { loadFlags } from "../../config/load-flags.js";
import { SERVE_FLAGS } from "../../config/serve-flags.js";
import { startGateway } from "../../main.js";
import { createLogger } from "../../observability/logger.js";

/**
 * `profgate serve` itself, built by the same composition root (`startGateway`), with one switch
 * for the auth-overhead benchmark's baseline: `--auth off` makes the agent listener decide every
 * call as the bootstrap agent token's without asking the IAM store, everything else unchanged.
 * Every listener defaults to a free loopback port; the console is off; other `serve` flags pass
 * through.
 *
 * `node dist/bench/servers/bench-gateway.js --data-dir DIR [--auth on|off] [serve flags]`
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--auth");
  const auth = at < 0 || args[at + 1] !== "off";
  if (at >= 0) args.splice(at, 2);
  const config = loadFlags(
    SERVE_FLAGS,
    [
      "--grpc-address=127.0.0.1:0",
      "--admin-address=127.0.0.1:0",
      "--http-address=127.0.0.1:0",
      "--console-address=",
      "--otlp-http-address=",
      "--log-level=info",
      ...args,
    ],
    {},
  );
  const log = createLogger(config.logLevel);
  const gateway = await startGateway(config, log, { trustAgentToken: !auth });
  const stop = () => void gateway.close().then(() => log.flush());
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

await main();
