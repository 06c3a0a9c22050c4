import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import {
  buildIdTypeFromWire,
  debuginfoTypeFromWire,
  debuginfoTypeToWire,
} from "../../../src/ingest/debuginfo/debuginfo-type.js";

describe("debuginfo wire enums", () => {
  it("maps DebuginfoType numbers both ways and rejects unknown ones", () => {
    expect([0, 1, 2, 3].map(debuginfoTypeFromWire)).toEqual([
      "debuginfo",
      "executable",
      "sources",
      "source_map",
    ]);
    expect(debuginfoTypeToWire("sources")).toBe(2);
    expect(() => debuginfoTypeFromWire(9)).toThrow(DomainError);
  });

  it("maps BuildIDType numbers, newer ones to unknown", () => {
    expect(buildIdTypeFromWire(3)).toBe("go");
    expect(buildIdTypeFromWire(42)).toBe("unknown");
  });
});
