import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import {
  binaryArray,
  int64Array,
  listArray,
  structArray,
  uint32Array,
} from "../../../src/agent-sim/array-data.js";
import { encodeIpcStream } from "../../../src/agent-sim/encode-ipc-stream.js";
import { INT64, UINT32 } from "../../../src/agent-sim/field-spec.js";
import { hex, id } from "./arrow-fixtures.js";

describe("encodeIpcStream", () => {
  it("writes dictionaries, deltas, lists and structs that apache-arrow reads back", () => {
    const bytes = encodeIpcStream({
      fields: [
        { name: "id", type: { kind: "dictionary", id: 3, index: UINT32, value: { kind: "binary" } } },
        {
          name: "frames",
          type: {
            kind: "list",
            item: { name: "item", type: { kind: "struct", fields: [{ name: "address", type: INT64 }] } },
          },
        },
      ],
      metadata: { parca_write_schema_version: "v1" },
      dictionaries: [
        { id: 3, data: binaryArray([id(1), id(2)]) },
        { id: 3, data: binaryArray([id(3)]), isDelta: true },
      ],
      batches: [
        {
          length: 3,
          columns: [
            uint32Array([2, 0, 1]),
            listArray([0, 1, 1, 3], structArray(3, [int64Array([10n, 20n, 30n])])),
          ],
        },
      ],
    });
    const table = tableFromIPC(bytes);
    expect(table.schema.metadata.get("parca_write_schema_version")).toBe("v1");
    expect(hex(table.getChild("id")!.toArray() as Uint8Array[])).toEqual(hex([id(3), id(1), id(2)]));
    const frames = table.getChild("frames")!;
    expect(
      frames
        .get(0)!
        .toArray()
        .map((row: { address: bigint }) => row.address),
    ).toEqual([10n]);
    expect(frames.get(1)!.length).toBe(0);
    expect(
      frames
        .get(2)!
        .toArray()
        .map((row: { address: bigint }) => row.address),
    ).toEqual([20n, 30n]);
  });
});
