import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadFlags } from "../../../src/config/load-flags.js";
import { SERVE_FLAGS } from "../../../src/config/serve-flags.js";
import { jetStreamSettings } from "../../../src/jetstream/jetstream-settings.js";
import { tempDir } from "../../support/temp-dir.js";

const dir = await tempDir();
afterAll(() => dir.remove());
const flags = (args: string[]) => loadFlags(SERVE_FLAGS, args, {});

describe("the JetStream flags", () => {
  it("take --spool alone as the disk spool and --spool jetstream as JetStream", () => {
    expect(flags(["--spool"]).spool).toBe("disk");
    expect(flags(["--spool", "--sink", "local"]).spool).toBe("disk");
    expect(flags(["--spool", "jetstream"]).spool).toBe("jetstream");
    expect(flags(["--spool=jetstream"]).spool).toBe("jetstream");
    expect(flags([]).spool).toBe(false);
    expect(loadFlags(SERVE_FLAGS, [], { PROFGATE_SPOOL: "true" }).spool).toBe("disk");
  });

  it("are read only with --sink jetstream or --spool jetstream, with the token file's one token", () => {
    expect(jetStreamSettings(flags([]), false)).toBeUndefined();
    const token = join(dir.path, "nats.token");
    writeFileSync(token, "s3cret-nats-token\n");
    const settings = jetStreamSettings(
      flags([
        "--sink",
        "jetstream",
        "--nats-servers",
        "nats://a:4222,nats://b:4222",
        `--nats-token-file=${token}`,
      ]),
      false,
    );
    expect(settings).toMatchObject({
      servers: ["nats://a:4222", "nats://b:4222"],
      token: "s3cret-nats-token",
      stream: "profgate",
      replicas: 1,
      maxAgeMs: 7 * 86_400_000,
      maxBytes: 10 * 1024 ** 3,
    });
  });

  it("name the flag that is wrong", () => {
    const token = join(dir.path, "t");
    writeFileSync(token, "x");
    expect(() => jetStreamSettings(flags([`--nats-token-file=${token}`]), false)).toThrow(
      "--nats-token-file needs --sink jetstream or --spool jetstream.",
    );
    expect(() => jetStreamSettings(flags(["--sink", "jetstream"]), true)).toThrow(/--spool jetstream/);
    expect(() =>
      jetStreamSettings(flags(["--sink", "jetstream", "--jetstream-stream", "a.b"]), false),
    ).toThrow(/--jetstream-stream/);
    expect(() => flags(["--nats-servers", "http://x:1"])).toThrow(/--nats-servers/);
  });
});
