import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decompressZstd, ZstdError } from "../../../src/edge/zstd.js";
import { validateEnvelope } from "../../../src/ingest/otlp/validate-envelope.js";
import { OTLP_SIGNALS } from "../../../src/rpc/otlp-signals.js";
import { zstdBomb, zstdHugeWindow, zstdRaw } from "../../support/zstd-frame.js";

const profiles = OTLP_SIGNALS.find((s) => s.method === "ExportProfiles")!.envelope;

describe("validateEnvelope", () => {
  it("accepts an empty request, known fields holding messages, and unknown fields of every wire type", () => {
    expect(() => validateEnvelope(profiles, new Uint8Array())).not.toThrow();
    const resource = Buffer.from([0x0a, 0x04, 0x1a, 0x02, 0x68, 0x69]);
    const dictionary = Buffer.from([0x12, 0x00]);
    const unknown = Buffer.from([
      0x98, 0x06, 0x01, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xad, 0x06, 1, 2, 3, 4,
    ]);
    expect(() => validateEnvelope(profiles, Buffer.concat([resource, dictionary, unknown]))).not.toThrow();
  });

  it("names what is wrong: a cut-short field, a known field that is no message, a broken inner message", () => {
    expect(() => validateEnvelope(profiles, Buffer.from([0x0a, 0x05, 0x01]))).toThrow(
      /not a well-formed ExportProfilesServiceRequest: field 1 at byte 0: its length runs past the end/,
    );
    expect(() => validateEnvelope(profiles, Buffer.from([0x08, 0x01]))).toThrow(
      /field 1 \(resource_profiles\) has wire type 0, where a message was expected/,
    );
    expect(() => validateEnvelope(profiles, Buffer.from([0x0a, 0x02, 0x0b, 0x00]))).toThrow(
      /in field 1 \(resource_profiles\) at byte 2: field 1 at byte 2 has wire type 3/,
    );
    expect(() => validateEnvelope(profiles, Buffer.from([0x80]))).toThrow(/cut short/);
  });
});

describe("decompressZstd", () => {
  it("decodes frames of raw blocks, empty ones included", () => {
    const data = Buffer.from("x".repeat(300_000));
    expect(decompressZstd(zstdRaw(data), 1_000_000)).toEqual(data);
    expect(decompressZstd(zstdRaw(new Uint8Array()), 10)).toEqual(Buffer.alloc(0));
    expect(
      decompressZstd(Buffer.concat([zstdRaw(Buffer.from("ab")), zstdRaw(Buffer.from("cd"))]), 10),
    ).toEqual(Buffer.from("abcd"));
  });

  it("decodes what the zstd command compresses: a file (its size in the header) and a stream (a window only)", () => {
    const data = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `sample ${i} ${i % 13};`).join(""));
    const compress = (args: string[]) => {
      const run = spawnSync("zstd", ["-q", "-c", ...args], { input: data });
      if (run.status !== 0) throw new Error(`zstd failed: ${run.stderr}`);
      return run.stdout;
    };
    const sized = `--stream-size=${data.length}`;
    for (const args of [["-1", sized], ["-19", sized], ["-3", "--no-check"], ["-3"]]) {
      const frame = compress(args);
      // Byte 4 is the frame header descriptor: its top two bits say whether the content size is there.
      expect(frame[4]! >> 6 !== 0, args.join(" ")).toBe(args.includes(sized));
      expect(frame.length, args.join(" ")).toBeLessThan(data.length / 4);
      expect(decompressZstd(frame, data.length).equals(data), args.join(" ")).toBe(true);
      expect(() => decompressZstd(frame, data.length - 1), args.join(" ")).toThrow(ZstdError);
    }
  });

  it("stops a bomb at the limit, refuses a huge window from its header, and garbage", () => {
    const expect64 = (input: Buffer) => {
      try {
        decompressZstd(input, 1024 * 1024);
        return "decoded";
      } catch (error) {
        return error instanceof ZstdError ? (error.tooLarge ? "too large" : "invalid") : "other";
      }
    };
    expect(expect64(zstdBomb(16))).toBe("too large");
    expect(expect64(zstdHugeWindow(20))).toBe("too large");
    // A second frame may not hide a larger window either.
    expect(expect64(Buffer.concat([zstdRaw(Buffer.from("a")), zstdHugeWindow(20)]))).toBe("too large");
    expect(expect64(Buffer.from("not zstd at all"))).toBe("invalid");
  });
});
