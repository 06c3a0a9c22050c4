import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { networkInterfaces } from "node:os";
import { join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { status } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient } from "../../src/agent-sim/agent-client.js";
import { encodeArrowV2 } from "../../src/agent-sim/index.js";
import { AdminClient } from "../../src/cli/iam/admin-client.js";
import { ServiceAccountService, ServiceAccountTokenService } from "../../src/gen/profgate/iam/v1/iam_pb.js";
import { hashToken } from "../../src/token/token.js";
import { type CliResult, profgate } from "../support/cli.js";
import { type GatewayProcess, readBootstrap, startGateway } from "../support/gateway-process.js";
import { grpcFrame } from "../support/raw-grpc.js";
import { grpcHeaders, http2Session, rawHttp2Call } from "../support/raw-http2.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { tempDir } from "../support/temp-dir.js";

/**
 * Runs a representative session of its own (a gateway on the embedded store and one on Redis,
 * the CLI, pushes and admin calls with valid, revoked, unknown and malformed tokens, metrics,
 * the console API), keeps everything it produced, and then looks for every token's secret in all
 * of it. Self-contained because test files may run in parallel: "after the whole suite" cannot
 * be observed from inside one file.
 */
describe("secrets: a token appears only in its owner's token file", () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let redis: RedisServer;
  let redisDir = "";
  const gateways: GatewayProcess[] = [];
  /** Everything the session produced outside files: outputs, errors, responses, metrics, dumps. */
  const outputs: Array<{ what: string; text: string }> = [];
  /** Secret -> the only file allowed to hold it. */
  const owners = new Map<string, string>();
  const record = (what: string, text: string) => outputs.push({ what, text });
  const cli = async (what: string, args: string[]): Promise<CliResult> => {
    const result = await profgate(args);
    record(`${what} stdout`, result.stdout);
    record(`${what} stderr`, result.stderr);
    return result;
  };
  /** `iam tokens create --out FILE` through `cli`; the token read back from its file, its owner noted. */
  const tokenToFile = async (
    what: string,
    serviceAccountId: string,
    name: string,
    file: string,
    auth: string[],
  ): Promise<string> => {
    const created = await cli(what, [
      "iam",
      "tokens",
      "create",
      "--service-account",
      serviceAccountId,
      "--name",
      name,
      "--out",
      file,
      ...auth,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const token = (await readFile(file, "utf8")).trim();
    owners.set(token, file);
    return token;
  };
  const push = async (what: string, agent: AgentClient) => {
    const result = await agent.writeArrow(encodeArrowV2()).then(
      () => ({ code: status.OK, details: "" }),
      (error: { code: number; details: string }) => ({ code: error.code, details: error.details }),
    );
    record(`push ${what}`, JSON.stringify(result));
    agent.close();
    return result.code;
  };

  beforeAll(async () => {
    root = await tempDir("profgate-secrets-");
    redis = await startRedisServer({ persistent: true });
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop("SIGKILL");
    await redis?.stop();
    await root?.remove();
  });

  it("runs a session: bootstrap, CLI, pushes, admin and console calls, on the embedded store and on Redis", async () => {
    const dataA = join(root.path, "a");
    const a = await startGateway(dataA, ["--last-used-flush-interval", "200ms"]);
    gateways.push(a);
    const bootA = await readBootstrap(dataA);
    owners.set(bootA.ownerToken, join(dataA, "owner.token"));
    owners.set(bootA.agentToken, join(dataA, "agent.token"));
    const owner = ["--server", a.adminTarget, "--token-file", join(dataA, "owner.token")];

    const sa = JSON.parse(
      (await cli("create account", ["iam", "service-accounts", "create", "fleet", "-o", "json", ...owner]))
        .stdout,
    );
    await cli("bind", [
      "iam",
      "role-bindings",
      "create",
      "--service-account",
      sa.id,
      "--role",
      "writer",
      "--project",
      bootA.projectId,
      ...owner,
    ]);
    const outFile = join(root.path, "fleet.token");
    const fleet = await tokenToFile("token --out", sa.id, "fleet", outFile, owner);
    // The one output allowed to show a token: created without --out. Not recorded.
    const shown = await profgate([
      "iam",
      "tokens",
      "create",
      "--service-account",
      sa.id,
      "--name",
      "once",
      "-o",
      "json",
      ...owner,
    ]);
    const once = JSON.parse(shown.stdout) as { id: string; token: string };
    owners.set(once.token, "(shown once by tokens create)");
    await cli("delete shown token", ["iam", "tokens", "delete", once.id, ...owner]);

    // Token files an operator got wrong: the CLI must not echo them.
    const unknown = `psc_v1_${randomBytes(32).toString("hex")}`;
    const unknownFile = join(root.path, "unknown.token");
    await writeFile(unknownFile, `${unknown}\n`, { mode: 0o600 });
    owners.set(unknown, unknownFile);
    const malformed = `psc_v1_${randomBytes(32).toString("hex").slice(0, 63)}Z`;
    const malformedFile = join(root.path, "malformed.token");
    await writeFile(malformedFile, `${malformed}\n`, { mode: 0o600 });
    owners.set(malformed, malformedFile);
    const withFile = (file: string) => ["--server", a.adminTarget, "--token-file", file];
    const listings = await Promise.all([
      cli("tokens list", ["iam", "tokens", "list", "--service-account", sa.id, ...owner]),
      cli("tokens list json", ["iam", "tokens", "list", "--service-account", sa.id, "-o", "json", ...owner]),
      cli("audit", ["iam", "audit", "list", ...owner]),
      cli("accounts json", ["iam", "service-accounts", "list", "-o", "json", ...owner]),
      cli("cli with unknown token", ["iam", "service-accounts", "list", ...withFile(unknownFile)]),
      cli("cli with malformed token", ["iam", "service-accounts", "list", ...withFile(malformedFile)]),
    ]);
    expect(listings.map((r) => r.code)).toEqual([0, 0, 0, 0, 1, 1]);

    // Pushes with valid, revoked, unknown and malformed tokens, and tokens where they do not belong.
    const agent = (token: string, projectId = bootA.projectId, headers: Record<string, string> = {}) =>
      new AgentClient(a.target, { token, projectId, headers });
    expect(await push("agent", agent(bootA.agentToken))).toBe(status.OK);
    expect(await push("fleet", agent(fleet))).toBe(status.OK);
    expect(await push("revoked", agent(once.token))).toBe(status.UNAUTHENTICATED);
    expect(await push("unknown", agent(unknown))).toBe(status.UNAUTHENTICATED);
    expect(await push("malformed", agent(malformed))).toBe(status.UNAUTHENTICATED);
    expect(await push("token as project", agent(fleet, fleet))).toBe(status.INVALID_ARGUMENT);
    await push("token in a header", agent(fleet, bootA.projectId, { "x-debug": fleet }));
    const upload = agent(fleet);
    const { uploadInstructions } = await upload.initiateUpload({
      buildId: "secrets-build",
      size: 3n,
      hash: "h",
    });
    await upload.upload({ buildId: "secrets-build", uploadId: uploadInstructions!.uploadId }, [
      Buffer.from("elf"),
    ]);
    await upload.markUploadFinished({ buildId: "secrets-build", uploadId: uploadInstructions!.uploadId });
    upload.close();
    // Values grpc-js cannot represent (a tab after Bearer, a non-ASCII byte), sent by hand; named
    // gzip, so that an allowed call goes through grpc-js (not the unary lane) and its log is checked.
    const session = await http2Session(a.target);
    for (const value of [`Bearer\t${fleet}`, `Bearer ${fleet}\u00e9`, `Bearer \u00ff${bootA.agentToken}`]) {
      const outcome = await rawHttp2Call(
        session,
        grpcHeaders("/parca.profilestore.v1alpha1.ProfileStoreService/WriteArrow", {
          authorization: value,
          projectid: bootA.projectId,
          "grpc-encoding": "gzip",
        }),
        [grpcFrame(new Uint8Array())],
      );
      record("raw http2 push", JSON.stringify(outcome));
    }
    session.destroy();

    // Admin API with good and bad tokens, and what it answers.
    for (const [what, token] of [
      ["owner", bootA.ownerToken],
      ["unknown", unknown],
      ["malformed", malformed],
      ["revoked", once.token],
    ]) {
      const accounts = new AdminClient(ServiceAccountService, a.adminTarget, token!);
      const tokens = new AdminClient(ServiceAccountTokenService, a.adminTarget, token!);
      for (const call of [
        () => accounts.call("listServiceAccounts", {}),
        () => tokens.call("listServiceAccountTokens", { serviceAccountId: sa.id }),
      ]) {
        const response = await call().then(
          (r) => JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v)),
          (e: { code: number; details: string }) => `${e.code} ${e.details}`,
        );
        record(`admin as ${what}`, response);
      }
      accounts.close();
      tokens.close();
    }
    // The console's JSON API, when the build has one.
    if (a.consoleUrl && a.consoleUrl !== "http://") {
      for (const token of [bootA.ownerToken, unknown, malformed, once.token]) {
        for (const path of [
          "/api/whoami",
          `/api/service-accounts/${sa.id}/tokens`,
          "/api/service-accounts",
        ]) {
          const response = await fetch(`${a.consoleUrl}${path}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          record(`console ${path}`, `${response.status} ${await response.text()}`);
        }
      }
    }
    await new Promise((r) => setTimeout(r, 500)); // last-used dates flushed
    record("metrics a", await (await fetch(`${a.httpUrl}/metrics`)).text());

    // A gateway on Redis: bootstrap, a push, a token created with --out.
    const dataB = join(root.path, "b");
    const b = await startGateway(dataB, ["--redis-url", redis.url, "--last-used-flush-interval", "200ms"]);
    gateways.push(b);
    const bootB = await readBootstrap(dataB);
    owners.set(bootB.ownerToken, join(dataB, "owner.token"));
    owners.set(bootB.agentToken, join(dataB, "agent.token"));
    const ownerB = ["--server", b.adminTarget, "--token-file", join(dataB, "owner.token")];
    const bOut = join(root.path, "b-agent.token");
    const bToken = await tokenToFile("redis token --out", bootB.agentServiceAccountId, "b", bOut, ownerB);
    expect(
      await push("redis agent", new AgentClient(b.target, { token: bToken, projectId: bootB.projectId })),
    ).toBe(status.OK);
    await push("redis unknown", new AgentClient(b.target, { token: unknown, projectId: bootB.projectId }));
    await new Promise((r) => setTimeout(r, 500));
    record("metrics b", await (await fetch(`${b.httpUrl}/metrics`)).text());

    // Redis: every key and value, as stored and as DUMPed.
    const client = new Redis(redis.url);
    try {
      redisDir = String(((await client.config("GET", "dir")) as string[])[1]);
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "COUNT", 500);
        cursor = next;
        for (const key of keys) {
          const type = await client.type(key);
          const value =
            type === "string"
              ? await client.get(key)
              : type === "hash"
                ? await client.hgetall(key)
                : type === "set"
                  ? await client.smembers(key)
                  : type === "zset"
                    ? await client.call("ZRANGE", key, "0", "-1", "WITHSCORES")
                    : type === "list"
                      ? await client.lrange(key, 0, -1)
                      : type === "stream"
                        ? await client.xrange(key, "-", "+")
                        : null;
          record(`redis ${key}`, `${type} ${JSON.stringify(value)}`);
          const dumped = await client.dumpBuffer(key);
          record(`redis DUMP ${key}`, dumped?.toString("latin1") ?? "");
        }
      } while (cursor !== "0");
    } finally {
      client.disconnect();
    }
    for (const gateway of gateways) expect(await gateway.stop("SIGTERM")).toBe(0);
    for (const gateway of gateways) record(`log of ${gateway.target}`, gateway.lines.join("\n"));
  });

  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  }

  it("finds no token anywhere but in its owner's token file: files, logs, metrics, errors, CLI output, Redis", async () => {
    expect(owners.size).toBeGreaterThanOrEqual(9);
    const files = [...(await filesUnder(root.path)), ...(await filesUnder(redisDir))];
    const texts = [
      ...outputs,
      ...(await Promise.all(
        files.map(async (file) => ({ what: file, text: (await readFile(file)).toString("latin1") })),
      )),
    ];
    const found: string[] = [];
    for (const [token, ownerFile] of owners) {
      const secret = token.slice("psc_v1_".length);
      const raw = /^[0-9a-f]{64}$/.test(secret) ? Buffer.from(secret, "hex").toString("latin1") : undefined;
      const holders = texts
        .filter(({ text }) => text.includes(secret) || (raw !== undefined && text.includes(raw)))
        .map(({ what }) => what);
      // Where it must be, and nowhere else.
      if (ownerFile.startsWith("/"))
        expect(holders, `${relative(root.path, ownerFile)}`).toContain(ownerFile);
      found.push(
        ...holders.filter((h) => h !== ownerFile).map((h) => `${relative(root.path, ownerFile)} in ${h}`),
      );
    }
    expect(found).toEqual([]);
    // The tab after "Bearer" makes grpc-js log the header it drops: redacted, like every line.
    const logs = outputs.filter(({ what }) => what.startsWith("log of ")).map(({ text }) => text);
    expect(logs.join("\n")).toMatch(
      /Failed to add metadata entry authorization: Bearer\\tpsc_v1_\[REDACTED\]/,
    );
    // Hashes identify tokens in the stores only, never in what the gateway says or logs.
    const said = outputs.filter(({ what }) => !what.startsWith("redis "));
    for (const token of owners.keys()) {
      const hash = hashToken(token);
      expect(said.filter(({ text }) => text.includes(hash)).map(({ what }) => what)).toEqual([]);
    }
  });

  it("keeps token and store files 0600 and their folders 0700", async () => {
    const loose: string[] = [];
    for (const data of ["a", "b"].map((d) => join(root.path, d))) {
      for (const entry of await readdir(data, { recursive: true, withFileTypes: true })) {
        const path = join(entry.parentPath, entry.name);
        const mode = (await stat(path)).mode & 0o777;
        const wanted = entry.isDirectory() ? 0o700 : 0o600;
        if (mode & ~wanted) loose.push(`${relative(root.path, path)} ${mode.toString(8)}`);
      }
      const top = (await stat(data)).mode & 0o777;
      if (top !== 0o700) loose.push(`${relative(root.path, data)} ${top.toString(8)}`);
    }
    for (const file of ["fleet.token", "b-agent.token"]) {
      const mode = (await stat(join(root.path, file))).mode & 0o777;
      if (mode !== 0o600) loose.push(`${file} ${mode.toString(8)}`);
    }
    expect(loose).toEqual([]);
  });
});

const CLI = resolve(import.meta.dirname, "../../dist/cli/profgate.js");

/** `profgate serve` with the default admin and console addresses (the other listeners on free ports). */
async function serveWithDefaults(
  dataDir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; lines: string[]; listening?: string }> {
  const env = { ...process.env };
  delete env["PROFGATE_ADMIN_ADDRESS"];
  delete env["PROFGATE_CONSOLE_ADDRESS"];
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--grpc-address",
      "127.0.0.1:0",
      "--http-address",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env },
  );
  const lines: string[] = [];
  const exited = once(child, "exit");
  const listening = await new Promise<string | undefined>((done) => {
    const timer = setTimeout(() => done(undefined), 20_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (line.includes("profgate is listening")) {
          clearTimeout(timer);
          done(line);
        }
      });
    }
    void exited.then(() => {
      clearTimeout(timer);
      done(undefined);
    });
  });
  return { child, lines, ...(listening ? { listening } : {}) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, "exit");
  child.kill("SIGKILL");
  await exit;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = tcpConnect({ host, port, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
    socket.once("timeout", () => {
      socket.destroy();
      done(false);
    });
  });
}

describe("the admin listener by default", () => {
  it("binds loopback only: unreachable on the machine's other addresses", async () => {
    const help = await profgate(["serve", "--help"]);
    expect(help.stdout).toMatch(/--admin-address[\s\S]*?\(default 127\.0\.0\.1:7073\)/);
    const dir = await tempDir();
    let started = await serveWithDefaults(dir.path);
    if (started.listening === undefined && started.lines.join("\n").includes("127.0.0.1:7074")) {
      // The console's default port is taken on this machine: move only the console.
      await stopChild(started.child);
      started = await serveWithDefaults(dir.path, ["--console-address", "127.0.0.1:0"]);
    }
    const { child, lines, listening } = started;
    try {
      if (listening === undefined) {
        // Another process holds 7073 on this machine: the default cannot be started here.
        const busy = lines.join("\n");
        expect(busy, busy).toMatch(/--admin-address 127\.0\.0\.1:7073 is in use/);
        console.warn(`admin default not started (port busy); asserted the documented default only:\n${busy}`);
        return;
      }
      const admin = /"adminAddress":"([^"]*):(\d+)"/.exec(listening);
      expect(admin?.[1]).toBe("127.0.0.1");
      expect(admin?.[2]).toBe("7073");
      expect(await connects("127.0.0.1", 7073)).toBe(true);
      const console_ = /"consoleAddress":"([^"]*):(\d+)"/.exec(listening);
      if (console_) expect(console_[1]).toBe("127.0.0.1");
      const external = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal)
        .map((a) => a!.address);
      if (external.length === 0)
        console.warn("no non-loopback IPv4 address here: checked the bound address only");
      for (const address of external) {
        expect(await connects(address, 7073), `admin reachable on ${address}:7073`).toBe(false);
        if (console_)
          expect(await connects(address, Number(console_[2])), `console on ${address}`).toBe(false);
      }
    } finally {
      await stopChild(child);
      await dir.remove();
    }
  });
});
