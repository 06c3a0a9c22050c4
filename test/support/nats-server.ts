import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import {
  endNats,
  freePort,
  launchNats,
  launchNatsOnFreePort,
  type NatsProcess,
} from "../../src/bench/harness/nats-process.js";
import { tempDir } from "./temp-dir.js";

/** A nats-server with JetStream of the tests, in its own temporary directory. */
export interface NatsServer {
  url: string;
  stop(): Promise<void>;
}

/** A JetStream cluster of the tests. */
export interface NatsCluster {
  /** The client URLs of every node, for `--nats-servers`. */
  urls: string[];
  /** kill -9 of node `i`'s server. */
  kill(i: number): void;
  stop(): Promise<void>;
}

/** A fresh nats-server with JetStream; `args` are passed on (e.g. `["--auth", token]`). */
export async function startNatsServer(args: string[] = []): Promise<NatsServer> {
  const dir = await tempDir("profgate-nats-");
  const server = await launchNatsOnFreePort(dir.path, args).catch(async (error: unknown) => {
    await dir.remove();
    throw error;
  });
  return {
    url: server.url,
    async stop() {
      await endNats(server.child);
      await dir.remove();
    },
  };
}

/** `nodes` nats-servers routed to each other, resolved once JetStream has a meta leader. */
export async function startNatsCluster(nodes: number): Promise<NatsCluster> {
  const dir = await tempDir("profgate-nats-cluster-");
  const clientPorts = await Promise.all(Array.from({ length: nodes }, freePort));
  const clusterPorts = await Promise.all(Array.from({ length: nodes }, freePort));
  const servers: NatsProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => endNats(s.child)));
    await dir.remove();
  };
  try {
    for (let i = 0; i < nodes; i++) {
      const nodeDir = join(dir.path, `node-${i}`);
      await mkdir(nodeDir);
      servers.push(
        await launchNats(clientPorts[i]!, nodeDir, {
          name: `n${i}`,
          clusterPort: clusterPorts[i]!,
          routes: clusterPorts.filter((_, j) => j !== i),
        }),
      );
    }
    await waitForMetaLeader(servers.map((s) => s.url));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    urls: servers.map((s) => s.url),
    kill: (i) => process.kill(servers[i]!.pid, "SIGKILL"),
    stop,
  };
}

async function waitForMetaLeader(urls: string[]): Promise<void> {
  const nc = await connect({ servers: urls });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        await jsm.getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await nc.close();
  }
}
