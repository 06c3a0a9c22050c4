import { gzipSync } from "node:zlib";
import {
  Function as PprofFunction,
  Location,
  Mapping,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from "pprof-format";

export interface PprofOptions {
  /** How many distinct stacks (samples) to include; each has `depth` frames. */
  stacks?: number;
  depth?: number;
  /** Profile start, Unix ns. */
  timeNanos?: bigint;
  durationNanos?: bigint;
  /** Varies function names, so that different seeds give different bytes. */
  seed?: number;
}

/**
 * A gzipped pprof CPU profile of the shape parca-agent sends in WriteRaw `raw_profile`:
 * `samples/count` values, a `cpu/nanoseconds` period, mappings with a build id, and
 * locations with functions and lines.
 */
export function encodePprof(options: PprofOptions = {}): Uint8Array {
  const stacks = options.stacks ?? 10;
  const depth = options.depth ?? 8;
  const seed = options.seed ?? 0;
  const strings = new StringTable();
  const fn = (i: number) =>
    new PprofFunction({
      id: i + 1,
      name: strings.dedup(`function_${seed}_${i}`),
      systemName: strings.dedup(`function_${seed}_${i}`),
      filename: strings.dedup(`/src/file_${i % 7}.go`),
      startLine: i,
    });
  const functions = Array.from({ length: stacks * depth }, (_, i) => fn(i));
  const locations = functions.map(
    (f, i) =>
      new Location({
        id: i + 1,
        mappingId: 1,
        address: 0x401000 + i * 16,
        line: [{ functionId: f.id, line: 10 + i }],
      }),
  );
  const samples = Array.from(
    { length: stacks },
    (_, s) =>
      new Sample({
        locationId: Array.from({ length: depth }, (_, d) => s * depth + d + 1),
        value: [1 + ((s * 7 + seed) % 13)],
      }),
  );
  const profile = new Profile({
    sampleType: [new ValueType({ type: strings.dedup("samples"), unit: strings.dedup("count") })],
    periodType: new ValueType({ type: strings.dedup("cpu"), unit: strings.dedup("nanoseconds") }),
    period: 52_631_578,
    timeNanos: options.timeNanos ?? BigInt(Date.now()) * 1_000_000n,
    durationNanos: options.durationNanos ?? 5_000_000_000n,
    mapping: [
      new Mapping({
        id: 1,
        memoryStart: 0x400000,
        memoryLimit: 0x800000,
        filename: strings.dedup("/usr/bin/app"),
        buildId: strings.dedup("2d6912fd3dd64542f6f6294f4bf9cb6c265b3085"),
        hasFunctions: true,
      }),
    ],
    location: locations,
    function: functions,
    sample: samples,
    stringTable: strings,
  });
  return gzipSync(profile.encode());
}
