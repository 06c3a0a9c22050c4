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
    for (const args of [
      ["frobnicate"],
      ["spool", "frob"],
      ["iam", "frob", "nicate"],
      ["spool", "ls", "--nope"],
    ]) {
      const result = await profgate(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout, args.join(" ")).toBe("");
      expect(result.stderr, args.join(" ")).toMatch(/^profgate: /);
      expect(result.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
    }
  });

  it("prints help on stdout and exits 0", async () => {
    for (const args of [["--help"], ["spool", "--help"], ["spool"], ["iam", "--help"], ["serve", "--help"]]) {
      const result = await profgate(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout, args.join(" ")).toMatch(/Usage/);
    }
  });
});
