import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { freePort } from "./redis-process.js";

/** Debian's nats-server. */
export const NATS_SERVER = "/usr/sbin/nats-server";

/*
 * nats-server runs under a small shell that kills it when its stdin closes (as redis-server does
 * in redis-process.ts): no server outlives the process that started it, even a SIGKILLed one.
 * The shell writes the server's pid first, so that a test can kill the server itself.
 */
const GUARD = `exec 3<&0
"$0" "$@" 3<&- & pid=$!
echo "pid $pid"
(cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) &
exec 3<&-
wait $pid`;

/** One nats-server process with JetStream. */
export interface NatsProcess {
  child: ChildProcess;
  /** The server's own pid (not its guard's). */
  pid: number;
  port: number;
  url: string;
}

/** Where one node of a cluster listens for its routes, and the routes to the others. */
export interface ClusterRole {
  name: string;
  clusterPort: number;
  routes: number[];
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * A nats-server with JetStream on 127.0.0.1:`port`, storing in `dir`; in a cluster when
 * `cluster` is given, with `extra` arguments (e.g. `--auth TOKEN`). Resolves once the client port accepts connections.
 */
export async function launchNats(
  port: number,
  dir: string,
  cluster?: ClusterRole,
  extra: readonly string[] = [],
): Promise<NatsProcess> {
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, ...extra];
  if (cluster) {
    args.push(
      "-n",
      cluster.name,
      "--cluster_name",
      "profgate-test",
      "--cluster",
      `nats://127.0.0.1:${cluster.clusterPort}`,
      "--routes",
      cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(","),
    );
  }
  const child = spawn("sh", ["-c", GUARD, NATS_SERVER, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let pid = 0;
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    pid ||= Number(/pid (\d+)/.exec(output)?.[1] ?? 0);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output = `${output}${chunk.toString()}`.slice(-8192);
  });
  const deadline = Date.now() + 10_000;
  while (!(pid > 0 && (await accepts(port)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await endNats(child);
      throw new Error(`nats-server on ${port} did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { child, pid, port, url: `nats://127.0.0.1:${port}` };
}

/** Stops a server started by `launchNats` and waits for its guard to exit. */
export async function endNats(child: ChildProcess): Promise<void> {
  const running = child.exitCode === null && child.signalCode === null;
  const exit = running ? once(child, "exit") : undefined;
  child.stdin?.end();
  await exit;
}

/** `launchNats` on a free port; another port if one was taken meanwhile (5 attempts). */
export async function launchNatsOnFreePort(dir: string, extra: readonly string[] = []): Promise<NatsProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchNats(await freePort(), dir, undefined, extra);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

export { freePort };
