import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cycles, folderGraph, importGraph, topFolder } from "../../support/import-graph.js";

const SRC = fileURLToPath(new URL("../../../src/", import.meta.url));

describe("the source tree's imports", () => {
  const graph = importGraph(SRC);

  it("reads the tree (a guard against a pattern that finds nothing)", () => {
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get("main.ts")).toContain("gateway/edges.ts");
  });

  it("has no import cycle between files", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("has no import cycle between the top-level folders (components)", () => {
    expect(cycles(folderGraph(graph, topFolder))).toEqual([]);
  });

  it("keeps the edge on top: only the composition, the benchmarks and the CLI import it", () => {
    const importers = [...graph]
      .filter(([from, targets]) => !from.startsWith("edge/") && targets.some((t) => t.startsWith("edge/")))
      .map(([from]) => topFolder(from));
    expect(importers.length).toBeGreaterThan(0);
    expect(
      [...new Set(importers)].filter((f) => !["gateway", "main.ts", "bench", "cli"].includes(f)),
    ).toEqual([]);
  });
});
