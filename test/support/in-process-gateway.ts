import { pino } from "pino";
import { loadFlags } from "../../src/config/load-flags.js";
import { SERVE_FLAGS } from "../../src/config/serve-flags.js";
import { type Gateway, startGateway } from "../../src/main.js";
import { type BootstrapFiles, readBootstrap } from "./gateway-process.js";
import { tempDir } from "./temp-dir.js";

/** A gateway started in this process on free ports, with a fresh data dir and `extraArgs` flags. */
export async function inProcessGateway(extraArgs: string[] = []): Promise<{
  gateway: Gateway;
  target: string;
  dataDir: string;
  boot: BootstrapFiles;
  close(): Promise<void>;
}> {
  const dir = await tempDir();
  const config = loadFlags(
    SERVE_FLAGS,
    [
      "--grpc-address=127.0.0.1:0",
      "--admin-address=127.0.0.1:0",
      "--http-address=127.0.0.1:0",
      "--console-address=127.0.0.1:0",
      "--otlp-http-address=127.0.0.1:0",
      `--data-dir=${dir.path}`,
      "--log-level=silent",
      "--last-used-flush-interval=200ms",
      ...extraArgs,
    ],
    {},
  );
  const gateway = await startGateway(config, pino({ level: "silent" }));
  return {
    gateway,
    target: `127.0.0.1:${gateway.grpcAddress.port}`,
    dataDir: dir.path,
    boot: await readBootstrap(dir.path),
    async close() {
      await gateway.close();
      await dir.remove();
    },
  };
}
