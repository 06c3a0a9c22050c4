import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { promisify } from "node:util";

/** `execFile` as a promise. */
export const run = promisify(execFile);

/*
 * redis-server runs under a small shell that kills it when its stdin closes: when the process
 * that started it ends, however it ends (even SIGKILL), the pipe closes and no server outlives
 * it. Closing stdin is also how `endRedis` stops it. (A background job's stdin is /dev/null
 * unless redirected explicitly, hence fd 3.)
 */
const GUARD = `exec 3<&0
redis-server "$@" 3<&- & pid=$!
(cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) &
exec 3<&-
wait $pid`;

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** `redis-cli` against the server on `port`; its stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 5000 })).stdout;
}

/** Polls `check` every 25 ms for up to 10 s; throws naming `what` on timeout or when `exited()`. */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  exited?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited?.()) throw new Error(`${what}: the process exited`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what}: timed out`);
}

/**
 * One redis-server on 127.0.0.1:`port` with `dir` as its directory, without persistence unless
 * `extra` says otherwise, answering PING when returned.
 */
export async function launchRedis(
  port: number,
  dir: string,
  extra: readonly string[],
): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn("sh", ["-c", GUARD, "redis-guard", ...args, "--dir", dir, ...extra], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    await waitFor(
      async () => (await redisCli(port, "PING")).trim() === "PONG",
      `redis-server on ${port}`,
      exited,
    );
  } catch (error) {
    await endRedis(child);
    throw new Error(`${(error as Error).message} ${stderr}`.trim());
  }
  return child;
}

/** Stops a server started by `launchRedis` and waits for it to exit. */
export async function endRedis(child: ChildProcess): Promise<void> {
  const running = child.exitCode === null && child.signalCode === null;
  const exit = running ? once(child, "exit") : undefined;
  child.stdin?.end();
  await exit;
}

/** `launchRedis` on a free port; another port if one was taken meanwhile (5 attempts). */
export async function launchRedisOnFreePort(
  dir: string,
  extra: () => Promise<string[]> = async () => [],
): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, child: await launchRedis(port, dir, await extra()) };
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}
