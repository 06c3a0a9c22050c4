import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readConfigFile } from "../../../src/config/config-file.js";
import { loadFlags } from "../../../src/config/load-flags.js";
import { SERVE_FLAGS } from "../../../src/config/serve-flags.js";
import { tempDir } from "../../support/temp-dir.js";

describe("configuration", () => {
  it("takes a flag over the environment over the file over the default", async () => {
    const dir = await tempDir();
    const file = join(dir.path, "profgate.yaml");
    await writeFile(
      file,
      "log-level: warn\ndata-dir: /from/file\nshutdown-grace: 40s\nredis-cluster-nodes: [a:1, b:2]\n",
    );
    const values = await readConfigFile(file, SERVE_FLAGS);
    const config = loadFlags(
      SERVE_FLAGS,
      ["--log-level", "debug"],
      { PROFGATE_DATA_DIR: "/from/env" },
      {
        values,
        fileName: file,
      },
    );
    expect(config.logLevel).toBe("debug");
    expect(config.dataDir).toBe("/from/env");
    expect(config.shutdownGrace).toBe(40_000);
    expect(config.redisClusterNodes).toEqual(["a:1", "b:2"]);
    expect(config.grpcAddress).toEqual({ host: "0.0.0.0", port: 7070 });
    expect(Object.isFrozen(config)).toBe(true);
    await dir.remove();
  });

  it("refuses unknown keys and invalid values in the file, naming them", async () => {
    const dir = await tempDir();
    const unknown = join(dir.path, "unknown.yaml");
    await writeFile(unknown, "grpc-adress: 0.0.0.0:7070\n");
    await expect(readConfigFile(unknown, SERVE_FLAGS)).rejects.toThrow(/Unknown key "grpc-adress"/);
    const invalid = join(dir.path, "invalid.yaml");
    await writeFile(invalid, "auth-cache-ttl: soon\n");
    const values = await readConfigFile(invalid, SERVE_FLAGS);
    expect(() => loadFlags(SERVE_FLAGS, [], {}, { values, fileName: invalid })).toThrow(
      /Invalid auth-cache-ttl in .*invalid\.yaml="soon"/,
    );
    const list = join(dir.path, "list.yaml");
    await writeFile(list, "- a\n- b\n");
    await expect(readConfigFile(list, SERVE_FLAGS)).rejects.toThrow(/must be a mapping/);
    await dir.remove();
  });

  it("parses durations, sizes and addresses strictly", () => {
    expect(loadFlags(SERVE_FLAGS, ["--auth-stale-window", "1h30m"], {}).authStaleWindow).toBe(5_400_000);
    expect(loadFlags(SERVE_FLAGS, ["--grpc-address", "[::]:7070"], {}).grpcAddress).toEqual({
      host: "::",
      port: 7070,
    });
    expect(() => loadFlags(SERVE_FLAGS, ["--grpc-address", "host:99999"], {})).toThrow(/--grpc-address/);
    expect(() => loadFlags(SERVE_FLAGS, ["--redis-url", "http://x:1"], {})).toThrow(/redis:\/\//);
    expect(loadFlags(SERVE_FLAGS, ["--metrics-per-project"], {}).metricsPerProject).toBe(true);
    expect(loadFlags(SERVE_FLAGS, [], { PROFGATE_METRICS_PER_PROJECT: "false" }).metricsPerProject).toBe(
      false,
    );
  });
});
