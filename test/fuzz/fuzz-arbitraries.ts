import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../../src/agent-sim/index.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import {
  InitiateUploadRequestSchema,
  MarkUploadFinishedRequestSchema,
  ShouldInitiateUploadRequestSchema,
  UploadRequestSchema,
} from "../../src/gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import {
  AgentsRequestSchema,
  WriteArrowRequestSchema,
  WriteRawRequestSchema,
  WriteRequestSchema,
} from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { ReportPanicRequestSchema } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import type { Permission } from "../../src/iam/permissions.js";

export const bin = <Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Uint8Array =>
  toBinary(schema, create(schema, init));

/** One agent-facing method: its path, whether it streams, what it needs, a valid request. */
export interface MethodSpec {
  name: string;
  path: string;
  streaming: boolean;
  permission: Permission;
  /** Whether an accepted call appends a record to the sink. */
  stores: boolean;
  /** Valid request messages (one for unary calls). */
  seed: () => Uint8Array[];
}

const PS = "/parca.profilestore.v1alpha1.ProfileStoreService";
const DI = "/parca.debuginfo.v1alpha1.DebuginfoService";

export const writeRawSeed = () =>
  bin(WriteRawRequestSchema, {
    series: [
      {
        labels: {
          labels: [
            { name: "__name__", value: "parca_agent_cpu" },
            { name: "node", value: "fuzz-node" },
          ],
        },
        samples: [{ rawProfile: encodePprof({ stacks: 2, depth: 2 }) }],
      },
    ],
  });

export function writeExchangeSeed(): Uint8Array[] {
  const ids = [randomStacktraceId(), randomStacktraceId()];
  const sample = encodeSampleRecord({ labels: { node: "fuzz-node" }, stacktraceIds: [...ids, ids[0]!] });
  return [
    bin(WriteRequestSchema, { record: sample }),
    bin(WriteRequestSchema, { record: encodeLocationsRecord(ids) }),
  ];
}

let buildCounter = 0;
const freshBuildId = () => `fuzz-build-${process.pid}-${++buildCounter}`;

/** Every method parca-agent calls, plus AgentsService/Agents. */
export const METHODS: readonly MethodSpec[] = [
  {
    name: "WriteRaw",
    path: `${PS}/WriteRaw`,
    streaming: false,
    permission: "profile.write",
    stores: true,
    seed: () => [writeRawSeed()],
  },
  {
    name: "WriteArrow",
    path: `${PS}/WriteArrow`,
    streaming: false,
    permission: "profile.write",
    stores: true,
    seed: () => [bin(WriteArrowRequestSchema, { ipcBuffer: encodeArrowV2() })],
  },
  {
    name: "Write",
    path: `${PS}/Write`,
    streaming: true,
    permission: "profile.write",
    stores: true,
    seed: writeExchangeSeed,
  },
  {
    name: "ShouldInitiateUpload",
    path: `${DI}/ShouldInitiateUpload`,
    streaming: false,
    permission: "debuginfo.write",
    stores: false,
    seed: () => [bin(ShouldInitiateUploadRequestSchema, { buildId: freshBuildId(), buildIdType: 1 })],
  },
  {
    name: "InitiateUpload",
    path: `${DI}/InitiateUpload`,
    streaming: false,
    permission: "debuginfo.write",
    stores: false,
    seed: () => [bin(InitiateUploadRequestSchema, { buildId: freshBuildId(), size: 16n, hash: "h" })],
  },
  {
    name: "Upload",
    path: `${DI}/Upload`,
    streaming: true,
    permission: "debuginfo.write",
    stores: false,
    seed: () => [
      bin(UploadRequestSchema, {
        data: { case: "info", value: { buildId: freshBuildId(), uploadId: crypto.randomUUID() } },
      }),
      bin(UploadRequestSchema, { data: { case: "chunkData", value: new Uint8Array(16) } }),
    ],
  },
  {
    name: "MarkUploadFinished",
    path: `${DI}/MarkUploadFinished`,
    streaming: false,
    permission: "debuginfo.write",
    stores: false,
    seed: () => [
      bin(MarkUploadFinishedRequestSchema, { buildId: freshBuildId(), uploadId: crypto.randomUUID() }),
    ],
  },
  {
    name: "ReportPanic",
    path: "/parca.telemetry.v1alpha1.TelemetryService/ReportPanic",
    streaming: false,
    permission: "telemetry.report",
    stores: true,
    seed: () => [
      bin(ReportPanicRequestSchema, { stderr: "panic: fuzz\n", metadata: { agent_version: "v0.50.0" } }),
    ],
  },
  {
    name: "Agents",
    path: "/parca.profilestore.v1alpha1.AgentsService/Agents",
    streaming: false,
    permission: "profile.read",
    stores: false,
    seed: () => [bin(AgentsRequestSchema, {})],
  },
];

const char = (from: number, to: number) =>
  fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));
/** What grpc-js lets a client put in a text metadata value: printable ASCII. */
export const printable = (maxLength = 80) => fc.string({ unit: char(0x20, 0x7e), maxLength });
const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

/** A token that looks almost right: one character off, cased, cut, extended, or another prefix. */
export function nearValidToken(token: string): fc.Arbitrary<string> {
  const body = token.slice("psc_v1_".length);
  return fc.oneof(
    fc
      .tuple(fc.nat({ max: 63 }), fc.constantFrom(..."0123456789abcdefABCDEFgz_ "))
      .map(([i, c]) => `psc_v1_${body.slice(0, i)}${c}${body.slice(i + 1)}`),
    fc.constant(token.toUpperCase()),
    fc.constant(`psc_v1_${body.toUpperCase()}`),
    fc.constant(token.slice(0, -1)),
    fc.constant(`${token}0`),
    fc.constant(body),
    fc.constant(`psc_v2_${body}`),
    fc.constant(`psc_v1${body}`),
    hex(64).map((h) => `psc_v1_${h}`),
    fc.constant(`psc_v1_${body}${body}`),
  );
}

/**
 * An `authorization` value: well-formed for a known token in the ways the gateway accepts
 * (any case of `Bearer`, extra spaces), near-valid tokens, broken schemes, or anything.
 */
export function authorizationValue(tokens: readonly string[]): fc.Arbitrary<string> {
  const known = fc.constantFrom(...tokens);
  return fc.oneof(
    known.chain((t) => fc.constantFrom(`Bearer ${t}`, `bearer ${t}`, `BEARER   ${t}`, `Bearer ${t}  `)),
    known.chain(nearValidToken).map((t) => `Bearer ${t}`),
    known.chain((t) =>
      fc.constantFrom(
        t,
        `Basic ${t}`,
        `Bearer${t}`,
        `Bearer ${t} x`,
        `Bearer  `,
        `Token ${t}`,
        `${t} Bearer`,
      ),
    ),
    printable(),
    printable().map((s) => `Bearer ${s}`),
  );
}

/** A `projectid` value: known projects (also upper-cased), random UUIDs, near-UUIDs, anything. */
export function projectIdValue(projects: readonly string[]): fc.Arbitrary<string> {
  const known = fc.constantFrom(...projects);
  return fc.oneof(
    known,
    known.map((p) => p.toUpperCase()),
    fc.uuid(),
    known.map((p) => p.slice(0, -1)),
    known.map((p) => `${p} `),
    known.map((p) => `{${p}}`),
    known.map((p) => p.replaceAll("-", "")),
    printable(40),
  );
}

const RESERVED = /^(grpc-|:)|^(content-type|te|user-agent|authorization|projectid)$/;
/** Extra metadata a client may send: odd but legal keys, text and binary values. */
export const extraMetadata = fc.array(
  fc.oneof(
    fc
      .tuple(fc.stringMatching(/^[a-z0-9_.-]{1,24}$/), printable(200))
      .filter(([k]) => !RESERVED.test(k) && !k.endsWith("-bin")),
    fc
      .tuple(fc.stringMatching(/^[a-z0-9_.-]{1,16}-bin$/), fc.uint8Array({ maxLength: 200 }))
      .filter(([k]) => !RESERVED.test(k))
      .map(([k, v]) => [k, Buffer.from(v).toString("latin1")] as [string, string]),
    fc.constantFrom<[string, string]>(
      ["x-retry-attempt", "3"],
      ["x-forwarded-for", "10.0.0.1"],
      ["authorization-bin", "\u0000\u00ff"],
      ["projectid-bin", "\u0001"],
    ),
  ),
  { maxLength: 6 },
);

/** One way of corrupting bytes, at a position taken modulo the length. */
type Mutation =
  | { kind: "set"; at: number; value: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "duplicate"; at: number; length: number }
  | { kind: "u32"; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
  // Lengths and offsets are where readers go wrong: overwrite four bytes with an edge value.
  fc.record({
    kind: fc.constant("u32" as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff),
  }),
);

export function applyMutations(source: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Buffer.from(source);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.kind) {
      case "set":
        if (bytes.length > 0) bytes[at] = m.value;
        break;
      case "insert":
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case "delete":
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case "truncate":
        bytes = bytes.subarray(0, at);
        break;
      case "duplicate":
        bytes = Buffer.concat([bytes.subarray(0, at + m.length), bytes.subarray(at)]);
        break;
      case "u32":
        if (bytes.length >= 4) bytes.writeUInt32LE(m.value >>> 0, Math.min(at, bytes.length - 4));
        break;
    }
  }
  return bytes;
}

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });

/** Bytes for one request message: random, a mutated valid message, or a valid one. */
export function requestBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 5, arbitrary: mutations.map((m) => applyMutations(valid, m)) },
    { weight: 1, arbitrary: fc.constant(valid) },
  );
}
