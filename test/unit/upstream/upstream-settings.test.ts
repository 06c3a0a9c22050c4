import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadFlags } from "../../../src/config/load-flags.js";
import { SERVE_FLAGS } from "../../../src/config/serve-flags.js";
import { parseDialAddress, parseGrpcHeaders } from "../../../src/config/upstream-flag-parsers.js";
import { upstreamSettings } from "../../../src/upstream/upstream-settings.js";
import { tempDir } from "../../support/temp-dir.js";

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const settings = (args: string[]) => upstreamSettings(loadFlags(SERVE_FLAGS, args, {}), "/data");

describe("upstream flags", () => {
  it("parse headers as gRPC metadata: keys lowercased, values kept", () => {
    expect(parseGrpcHeaders("projectID=abc; X-Team=a=b;")).toEqual({ projectid: "abc", "x-team": "a=b" });
    for (const bad of ["", "novalue", "=x", "a b=1", "grpc-timeout=1", "k-bin=1", "a=1;A=2", "a=\u00e9"]) {
      expect(() => parseGrpcHeaders(bad), bad).toThrow();
    }
  });

  it("dial addresses need a host and a port", () => {
    expect(parseDialAddress("parca.example.com:443")).toBe("parca.example.com:443");
    expect(parseDialAddress("[::1]:7070")).toBe("[::1]:7070");
    for (const bad of [":7070", "host", "host:0", "host:99999"])
      expect(() => parseDialAddress(bad), bad).toThrow();
  });

  it("are all off without --upstream-address, and refuse to be set alone", () => {
    expect(settings([])).toBeUndefined();
    expect(() => settings(["--spool"])).toThrow(new ConfigError("--spool needs --upstream-address."));
    expect(() => settings(["--upstream-grpc-headers=a=b"])).toThrow(/--upstream-grpc-headers needs/);
  });

  it("read the token file once, trimmed, and name the flag when it is missing or empty", async () => {
    const token = join(dir.path, "token");
    await writeFile(token, "  psc_v1_abc\n");
    const s = settings(["--upstream-address=core:7070", `--upstream-bearer-token-file=${token}`, "--spool"]);
    expect(s).toMatchObject({
      address: "core:7070",
      insecure: false,
      bearerToken: "psc_v1_abc",
      timeoutMs: 30_000,
      spool: { dir: "/data/spool", maxBytes: 1024 ** 3, maxBackoffMs: 10_000 },
    });
    expect(() =>
      loadFlags(
        SERVE_FLAGS,
        ["--upstream-address=core:7070", `--upstream-bearer-token-file=${join(dir.path, "none")}`],
        {},
      ),
    ).toThrow(/Invalid --upstream-bearer-token-file=.*cannot read the file \(ENOENT\)/);
    const empty = join(dir.path, "empty");
    await writeFile(empty, "\n");
    expect(() =>
      loadFlags(SERVE_FLAGS, ["--upstream-address=core:7070", `--upstream-bearer-token-file=${empty}`], {}),
    ).toThrow(/--upstream-bearer-token-file.*empty/);
  });

  it("refuse contradictions", async () => {
    const ca = join(dir.path, "ca.pem");
    await writeFile(ca, "-----BEGIN CERTIFICATE-----\n");
    expect(() =>
      settings(["--upstream-address=core:7070", "--upstream-insecure", `--upstream-tls-ca-file=${ca}`]),
    ).toThrow(/--upstream-insecure/);
    const token = join(dir.path, "token");
    await writeFile(token, "t");
    expect(() =>
      settings([
        "--upstream-address=core:7070",
        `--upstream-bearer-token-file=${token}`,
        "--upstream-grpc-headers=authorization=Bearer x",
      ]),
    ).toThrow(/may not set authorization/);
  });

  it("are read from PROFGATE_ variables too", () => {
    const config = loadFlags(SERVE_FLAGS, [], {
      PROFGATE_UPSTREAM_ADDRESS: "core:7070",
      PROFGATE_UPSTREAM_INSECURE: "true",
      PROFGATE_SPOOL: "true",
      PROFGATE_SPOOL_MAX_BYTES: "64MiB",
    });
    expect(upstreamSettings(config, "/d")).toMatchObject({
      insecure: true,
      spool: { maxBytes: 64 * 1024 ** 2 },
    });
  });
});
