import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { profgate } from "../support/cli.js";

describe("the profgate command line's conventions", () => {
  it("prints its version and Node's with --version", async () => {
    const { version } = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-v", "version"]) {
      const result = await profgate([flag]);
      expect(result.code, flag).toBe(0);
      expect(result.stdout).toBe(`profgate ${version} (node ${process.version})\n`);
    }
  });

  it("exits 2 for a command line it cannot read, on stderr without a stack trace", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { join } = await import("node:path");
    const { writeFile } = await import("node:fs/promises");
    const dir = await tempDir();
    // A well-formed token, so that each command gets as far as checking its own arguments.
    const tokenFile = join(dir.path, "some.token");
    await writeFile(tokenFile, `psc_v1_${"0".repeat(64)}\n`, { mode: 0o600 });
    const traffic = ["--token-file", tokenFile, "--project", "00000000-0000-4000-8000-000000000000"];
    try {
      for (const args of [
        ["frobnicate"],
        ["spool", "frob"],
        ["iam", "frob", "nicate"],
        ["spool", "ls", "--nope"],
        ["spool", "ls", "--newest", "some"],
        ["token", "generate", "--out"],
        ["iam", "projects", "create", "--token-file", tokenFile],
        ["iam", "tokens", "create", "--service-account", "x", "--token-file", tokenFile],
        ["iam", "audit", "list", "--limit", "many", "--token-file", tokenFile],
        ["loadgen"],
        ["loadgen", "--token-file", tokenFile],
        ["loadgen", ...traffic, "--agents", "0"],
        ["loadgen", ...traffic, "--duration", "soon"],
        ["loadgen", ...traffic, "--target", "nohost"],
        ["loadgen", ...traffic, "--mix", "nothing=1"],
        ["replay"],
        ["replay", "--from", dir.path, "--token-file", tokenFile, "--timeout", "soon"],
      ]) {
        const result = await profgate(args);
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stdout, args.join(" ")).toBe("");
        expect(result.stderr, args.join(" ")).toMatch(/^profgate: /);
        expect(result.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
      }
      // A file named on the command line that cannot be used fails the run: exit 1.
      const unreadable = await profgate([
        "loadgen",
        ...traffic.slice(2),
        "--token-file",
        "/nonexistent.token",
      ]);
      expect(unreadable.code).toBe(1);
      expect(unreadable.stderr).toBe("profgate: Cannot read the token file /nonexistent.token (ENOENT).\n");
    } finally {
      await dir.remove();
    }
  });

  it("prints help on stdout and exits 0", async () => {
    for (const args of [
      ["--help"],
      ["spool", "--help"],
      ["spool"],
      ["spool", "ls", "--help"],
      ["spool", "backlog", "--help"],
      ["token", "generate", "--help"],
      ["iam", "--help"],
      ["iam", "projects", "create", "--help"],
      ["serve", "--help"],
      ["loadgen", "--help"],
      ["replay", "--help"],
    ]) {
      const result = await profgate(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout, args.join(" ")).toMatch(/Usage/);
    }
  });
});

describe("profgate serve's start-up errors name what to fix", () => {
  const loopback = [
    "--grpc-address=127.0.0.1:0",
    "--http-address=127.0.0.1:0",
    "--console-address=",
    "--otlp-http-address=",
  ];

  it("names the flag whose address is in use", async () => {
    const { createServer } = await import("node:net");
    const { tempDir } = await import("../support/temp-dir.js");
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    const dir = await tempDir();
    try {
      const result = await profgate([
        "serve",
        ...loopback,
        `--admin-address=127.0.0.1:${port}`,
        `--data-dir=${dir.path}`,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `--admin-address 127.0.0.1:${port} is in use; pass another address or stop the other process.`,
      );
    } finally {
      busy.close();
      await dir.remove();
    }
  });

  it("names --data-dir when the data dir cannot be made", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { writeFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const dir = await tempDir();
    try {
      const file = join(dir.path, "a-file");
      await writeFile(file, "");
      const result = await profgate([
        "serve",
        ...loopback,
        "--admin-address=127.0.0.1:0",
        `--data-dir=${join(file, "data")}`,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `profgate: could not start: --data-dir ${join(file, "data")} cannot be used: mkdir ${join(file, "data")}: a part of its path is a file (ENOTDIR); pass a directory this user can write, or fix its owner and mode.\n`,
      );
    } finally {
      await dir.remove();
    }
  });

  it("prints the token files and the push line on the next start after a start that failed after bootstrapping", async () => {
    const { createServer } = await import("node:net");
    const { tempDir } = await import("../support/temp-dir.js");
    const { startGateway } = await import("../support/gateway-process.js");
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    const dir = await tempDir();
    try {
      const failed = await profgate([
        "serve",
        ...loopback,
        `--admin-address=127.0.0.1:${port}`,
        `--data-dir=${dir.path}`,
      ]);
      expect(failed.code).toBe(1);
      busy.close();
      const gateway = await startGateway(dir.path);
      try {
        const log = await gateway.log((text) => text.includes("push with:"));
        expect(log).toMatch(/created by an earlier start; their tokens are in the token files/);
        expect(log).toMatch(/"agentTokenFile":"[^"]*agent\.token"/);
        expect(log).toMatch(/push with: parca-agent --remote-store-address=127\.0\.0\.1:\d+/);
      } finally {
        await gateway.stop("SIGKILL");
      }
    } finally {
      busy.close();
      await dir.remove();
    }
  });

  it("names the flag another flag needs, as a usage error", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { createCa } = await import("../support/certificates.js");
    const dir = await tempDir();
    try {
      const { certFile } = await createCa(dir.path, "alone");
      const certOnly = await profgate(["serve", ...loopback, `--tls-cert-file=${certFile}`]);
      expect(certOnly.code).toBe(2);
      expect(certOnly.stderr).toContain("--tls-cert-file needs --tls-key-file");
      const insecure = await profgate([
        "serve",
        ...loopback,
        "--upstream-insecure",
        `--data-dir=${dir.path}`,
      ]);
      expect(insecure.code).toBe(2);
      expect(insecure.stderr).toContain("--upstream-insecure needs --upstream-address");
    } finally {
      await dir.remove();
    }
  });

  it("names the TLS flag whose file cannot serve, as a usage error, before anything is bootstrapped", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { createCa } = await import("../support/certificates.js");
    const { existsSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { writeFile } = await import("node:fs/promises");
    const dir = await tempDir();
    try {
      const one = await createCa(dir.path, "one");
      const two = await createCa(dir.path, "two");
      const junk = join(dir.path, "junk.pem");
      await writeFile(junk, "not a certificate\n");
      const data = join(dir.path, "data");
      const serve = (...tls: string[]) => profgate(["serve", ...loopback, `--data-dir=${data}`, ...tls]);
      const cases: Array<[string[], string]> = [
        [
          ["--tls-cert-file=/nonexistent.pem", `--tls-key-file=${one.keyFile}`],
          'Invalid --tls-cert-file="/nonexistent.pem": cannot read the file (ENOENT).',
        ],
        [
          [`--tls-cert-file=${junk}`, `--tls-key-file=${one.keyFile}`],
          `Invalid --tls-cert-file="${junk}": not a PEM certificate`,
        ],
        [
          [`--tls-cert-file=${one.certFile}`, `--tls-key-file=${one.certFile}`],
          `Invalid --tls-key-file="${one.certFile}": not an unencrypted PEM private key`,
        ],
        [
          [`--tls-cert-file=${one.certFile}`, `--tls-key-file=${two.keyFile}`],
          `--tls-key-file ${two.keyFile} is not the key of the certificate in --tls-cert-file ${one.certFile}`,
        ],
        [
          [
            `--tls-cert-file=${one.certFile}`,
            `--tls-key-file=${one.keyFile}`,
            `--tls-client-ca-file=${junk}`,
          ],
          `Invalid --tls-client-ca-file="${junk}": not a PEM CA certificate`,
        ],
      ];
      for (const [flags, message] of cases) {
        const result = await serve(...flags);
        expect(result.code, flags.join(" ")).toBe(2);
        expect(result.stdout, flags.join(" ")).toBe("");
        expect(result.stderr, flags.join(" ")).toContain(`profgate: ${message}`);
        expect(result.stderr, flags.join(" ")).not.toContain("BEGIN");
      }
      expect(existsSync(join(data, "owner.token"))).toBe(false);
    } finally {
      await dir.remove();
    }
  });
});

describe("profgate loadgen never reports an empty success", () => {
  it("fails, saying why, when it was asked for calls and made none", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { startGateway, readBootstrap } = await import("../support/gateway-process.js");
    const { join } = await import("node:path");
    const dir = await tempDir();
    const gateway = await startGateway(dir.path);
    try {
      const boot = await readBootstrap(dir.path);
      const args = ["loadgen", "--target", gateway.target, "--token-file", join(dir.path, "agent.token")];
      const none = await profgate([
        ...args,
        "--project",
        boot.projectId,
        "--agents",
        "1",
        "--duration",
        "1s",
        "--interval",
        "1h",
      ]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/no call was made in --duration 1s with --interval 1h/);
      const refused = await profgate([
        ...args,
        "--project",
        "00000000-0000-4000-8000-000000000000",
        "--agents",
        "1",
        "--duration",
        "1s",
        "--rate",
        "5",
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/none of the \d+ calls succeeded \(PERMISSION_DENIED\)/);
      const ok = await profgate([
        ...args,
        "--project",
        boot.projectId,
        "--agents",
        "1",
        "--duration",
        "1s",
        "--rate",
        "5",
      ]);
      expect(ok.code, ok.stderr).toBe(0);
    } finally {
      await gateway.stop("SIGKILL");
      await dir.remove();
    }
  });
});

describe("profgate replay refused on every call", () => {
  it("says to map the recorded projects with --project-map", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { startGateway, readBootstrap } = await import("../support/gateway-process.js");
    const { join } = await import("node:path");
    const dir = await tempDir();
    const source = await startGateway(join(dir.path, "source"));
    const target = await startGateway(join(dir.path, "target"));
    try {
      const boot = await readBootstrap(join(dir.path, "source"));
      const recorded = await profgate([
        "loadgen",
        "--target",
        source.target,
        "--token-file",
        join(dir.path, "source", "agent.token"),
        "--project",
        boot.projectId,
        "--agents",
        "1",
        "--rate",
        "5",
        "--duration",
        "1s",
      ]);
      expect(recorded.code, recorded.stderr).toBe(0);
      const replayed = await profgate([
        "replay",
        "--from",
        join(dir.path, "source"),
        "--target",
        target.target,
        "--token-file",
        join(dir.path, "target", "agent.token"),
        "--speed",
        "max",
      ]);
      expect(replayed.code).toBe(1);
      expect(replayed.stderr).toMatch(/refused every call.*--project-map OLD=NEW/);
    } finally {
      await Promise.all([source.stop("SIGKILL"), target.stop("SIGKILL")]);
      await dir.remove();
    }
  });
});

describe("--advertise-address", () => {
  it("is the address in the printed push line and the console's agent set-up", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { startGateway } = await import("../support/gateway-process.js");
    const { readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const dir = await tempDir();
    const gateway = await startGateway(dir.path, ["--advertise-address", "profgate.profgate.svc:7070"]);
    try {
      expect(await gateway.log((log) => log.includes("push with:"))).toMatch(
        /push with: parca-agent --remote-store-address=profgate\.profgate\.svc:7070 --remote-store-insecure/,
      );
      const owner = (await readFile(join(dir.path, "owner.token"), "utf8")).trim();
      const response = await fetch(`${gateway.consoleUrl}/api/agent-endpoint`, {
        headers: { authorization: `Bearer ${owner}` },
      });
      expect(await response.json()).toEqual({ address: "profgate.profgate.svc:7070", tls: false });
    } finally {
      await gateway.stop("SIGKILL");
      await dir.remove();
    }
  });
});

describe("the README's quick start", () => {
  it("pushes with its one line, run from a checkout's folder while the gateway runs", async () => {
    const { tempDir } = await import("../support/temp-dir.js");
    const { startGateway } = await import("../support/gateway-process.js");
    const { sinkRecords } = await import("../support/sink-contents.js");
    const { execFile } = await import("node:child_process");
    const { symlink } = await import("node:fs/promises");
    const { join, resolve } = await import("node:path");
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("## Quick start");
    const quickStart = readme.slice(start, readme.indexOf("\n## ", start + 1));
    const commands = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n"));
    const pushes = commands.filter((line) => /\bloadgen\b/.test(line));
    expect(pushes).toHaveLength(1);
    const push = pushes[0]!;
    // The checkout's folder: dist/ as `npm start` built it, and ./data as the gateway made it.
    const dir = await tempDir();
    await symlink(resolve(import.meta.dirname, "../../dist"), join(dir.path, "dist"));
    const gateway = await startGateway(join(dir.path, "data"));
    try {
      // The line dials the default address; this gateway listens on a free port instead.
      expect(push).toContain("--target 127.0.0.1:7070 ");
      const line = push.replace("--target 127.0.0.1:7070 ", `--target ${gateway.target} `);
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
        execFile("sh", ["-c", line], { cwd: dir.path }, (error, stdout, stderr) =>
          done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        ),
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^total \(1 agents/m);
      expect((await sinkRecords(join(dir.path, "data"))).length).toBeGreaterThan(0);
    } finally {
      await gateway.stop("SIGKILL");
      await dir.remove();
    }
  });
});
