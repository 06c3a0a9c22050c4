import { pino } from "pino";
import { parseHostPort } from "../../src/config/flag-spec.js";
import { type Gateway, startGateway } from "../../src/main.js";
import { readBootstrap, type BootstrapFiles } from "./gateway-process.js";
import { tempDir } from "./temp-dir.js";

/** A gateway started in this process on a free port, with a fresh data dir. */
export async function inProcessGateway(): Promise<{
  gateway: Gateway;
  target: string;
  dataDir: string;
  boot: BootstrapFiles;
  close(): Promise<void>;
}> {
  const dir = await tempDir();
  const gateway = await startGateway(
    {
      grpcAddress: parseHostPort("127.0.0.1:0"),
      adminAddress: parseHostPort("127.0.0.1:0"),
      dataDir: dir.path,
      logLevel: "silent",
      lastUsedFlushInterval: 200,
    },
    pino({ level: "silent" }),
  );
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
