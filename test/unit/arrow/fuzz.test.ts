import { describe, it } from "vitest";
import { encodeLocationsRecord } from "../../../src/agent-sim/encode-locations-record.js";
import { encodeSampleRecord } from "../../../src/agent-sim/encode-sample-record.js";
import { locationsRecordStacktraceIds } from "../../../src/ingest/arrow/locations-record-stacktrace-ids.js";
import { sampleRecordStacktraceIds } from "../../../src/ingest/arrow/sample-record-stacktrace-ids.js";
import { schemaVersion } from "../../../src/ingest/arrow/schema-version.js";
import { expectInvalid, id, prng, succeedsOrInvalid } from "./arrow-fixtures.js";

const readers = { sampleRecordStacktraceIds, locationsRecordStacktraceIds, schemaVersion };
const ids = [id(1), id(2), id(1), id(3)];
const valid = [
  encodeSampleRecord({ labels: { node: "n1", comm: "app" }, stacktraceIds: ids }),
  encodeSampleRecord({ labels: { node: "n1" }, stacktraceIds: ids, stacktraceEncoding: "dictionary" }),
  encodeSampleRecord({ labels: {}, stacktraceIds: ids, deltaDictionaryAfter: 1 }),
  encodeLocationsRecord(ids),
];

describe("Arrow readers on hostile input", () => {
  for (const [name, read] of Object.entries(readers)) {
    it(`${name}: throws only invalid_argument on mutated records`, () => {
      const random = prng(name.length);
      for (let i = 0; i < 4000; i++) {
        const bytes = valid[i % valid.length]!.slice();
        const flips = 1 + Math.floor(random() * 8);
        for (let f = 0; f < flips; f++)
          bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        succeedsOrInvalid(() => read(bytes));
      }
    });

    it(`${name}: throws only invalid_argument on truncated records and random bytes`, () => {
      // A stream cut at a message boundary is still a stream: schemaVersion may accept it.
      const check = name === "schemaVersion" ? succeedsOrInvalid : expectInvalid;
      const locations = valid[3]!;
      for (let length = 0; length < locations.length - 8; length++) {
        check(() => read(locations.subarray(0, length)));
      }
      const random = prng(7);
      for (let i = 0; i < 1000; i++) {
        expectInvalid(() =>
          read(Uint8Array.from({ length: Math.floor(random() * 300) }, () => random() * 256)),
        );
      }
    });
  }
});
