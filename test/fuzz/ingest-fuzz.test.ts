import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeArrowV2,
  encodeLocationsRecord,
  encodeSampleRecord,
  randomStacktraceId,
} from "../../src/agent-sim/index.js";
import { encodePprof } from "../../src/agent-sim/pprof-profile.js";
import {
  InitiateUploadRequestSchema,
  InitiateUploadResponseSchema,
  MarkUploadFinishedRequestSchema,
  ShouldInitiateUploadRequestSchema,
  UploadRequestSchema,
} from "../../src/gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import {
  WriteArrowRequestSchema,
  WriteRawRequestSchema,
  WriteRequestSchema,
} from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { fromBinary } from "@bufbuild/protobuf";
import { type GatewayProcess, startGateway } from "../support/gateway-process.js";
import { type PreparedIam, prepareIam } from "../support/prepare-iam.js";
import { type CallOutcome, grpcFrame, metadataOf, RawGrpcClient } from "../support/raw-grpc.js";
import { grpcHeaders, http2Session, rawHttp2Call } from "../support/raw-http2.js";
import { validateDebuginfo, validateSink } from "../support/sink-validation.js";
import { tempDir } from "../support/temp-dir.js";
import {
  applyMutations,
  authorizationValue,
  bin,
  extraMetadata,
  METHODS,
  type MethodSpec,
  mutations,
  printable,
  projectIdValue,
  requestBytes,
  writeExchangeSeed,
  writeRawSeed,
} from "./fuzz-arbitraries.js";

/**
 * Runs per property; PROFGATE_FUZZ_RUNS raises it for a longer local run (e.g. 5000). The
 * seed is printed on failure; PROFGATE_FUZZ_SEED replays it.
 */
const RUNS = Number(process.env["PROFGATE_FUZZ_RUNS"] ?? 150);
const SEED = process.env["PROFGATE_FUZZ_SEED"] ? Number(process.env["PROFGATE_FUZZ_SEED"]) : undefined;
const fuzz = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true };
/** A call that takes longer than this hangs, as far as the test is concerned. */
const DEADLINE_MS = 15_000;

/** Every code the gateway may end an agent call with (docs/iam-model.md, README's status table). */
const DEFINED = new Set<number>([
  status.OK,
  status.INVALID_ARGUMENT,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.FAILED_PRECONDITION,
  status.RESOURCE_EXHAUSTED,
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.ABORTED,
]);
/**
 * Statuses grpc-js itself sends, before any profgate code runs, for what no agent sends: bytes
 * that are not a protobuf of the method's request type (Go's gRPC answers INTERNAL too), a bad
 * `grpc-timeout`, a unary call with zero or two messages, a compression it does not know (which
 * the edge answers itself, naming the encodings it decodes). Any other INTERNAL or UNIMPLEMENTED
 * would come from the gateway: a bug.
 */
const TRANSPORT_STATUS: ReadonlyMap<number, RegExp> = new Map([
  [status.INTERNAL, /^(Error deserializing request|Invalid grpc-timeout value|Failed to decompress message)/],
  [
    status.UNIMPLEMENTED,
    /^(Received no request message|Received a second request message|Received message compressed with unsupported encoding|Messages compressed with ".*" are not supported; send identity, deflate, gzip, zstd\.)/,
  ],
]);

/**
 * Codes that settle whether a write was stored: OK (it was) and refusals before or instead of
 * storing (it was not). Anything else (a deadline, a cancellation, a transport failure) may come
 * after the write reached the sink.
 */
const CONCLUSIVE = new Set<number>([
  status.OK,
  status.INVALID_ARGUMENT,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
]);

const conclusive = (code: number, details: string) =>
  CONCLUSIVE.has(code) || (TRANSPORT_STATUS.get(code)?.test(details) ?? false);

/** The codes of a refused call (docs/iam-model.md). */
const REFUSALS = new Set<number>([status.UNAUTHENTICATED, status.INVALID_ARGUMENT, status.PERMISSION_DENIED]);

/**
 * The failed-authentication limiter is off, so that every refusal can be checked for its exact
 * code (it would answer RESOURCE_EXHAUSTED once the fuzzer's junk tokens add up; it has tests of
 * its own).
 */
const GATEWAY_ARGS = ["--auth-failure-burst", "0"];

function expectDefined(outcome: CallOutcome, what: string): void {
  const name = `${what}: ${status[outcome.code]} ${JSON.stringify(outcome.details)}`;
  const transport = TRANSPORT_STATUS.get(outcome.code);
  if (transport) {
    expect(outcome.details, name).toMatch(transport);
    return;
  }
  expect(DEFINED.has(outcome.code), name).toBe(true);
  // The client's own deadline: the server never answered.
  expect(outcome.details, name).not.toMatch(/^Deadline exceeded after/);
  expect(outcome.details, name).not.toMatch(/psc_v1_[0-9a-f]{8}/);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe("fuzzing every agent method of a running gateway", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let iam: PreparedIam;
  let gateway: GatewayProcess;
  let client: RawGrpcClient;
  /** Calls to storing methods that ended OK: the sink must hold at least this many records. */
  let acknowledged = 0;
  /**
   * Calls to storing methods whose end says nothing about the write (a deadline, a reset): the
   * gateway may have stored them. The sink holds at most `acknowledged + inconclusive` records.
   */
  let inconclusive = 0;
  const counts = new Map<string, number>();
  /** Who may do what where (docs/iam-model.md), for the prepared identities. */
  let grants: Array<{ token: string; project: string; permissions: Set<string> }>;

  beforeAll(async () => {
    dir = await tempDir();
    iam = await prepareIam(dir.path);
    gateway = await startGateway(dir.path, GATEWAY_ARGS);
    client = new RawGrpcClient(gateway.target);
    const writer = ["profile.write", "debuginfo.write", "profile.read", "telemetry.report"];
    const viewer = ["profile.read", "telemetry.report"];
    grants = [
      ...[iam.projectId, iam.otherProjectId].map((project) => ({
        token: iam.tokens.owner,
        project,
        permissions: new Set(writer),
      })),
      { token: iam.tokens.agent, project: iam.projectId, permissions: new Set(writer) },
      ...[iam.projectId, iam.otherProjectId].map((project) => ({
        token: iam.tokens.viewer,
        project,
        permissions: new Set(viewer),
      })),
      {
        token: iam.tokens.profileWriter,
        project: iam.projectId,
        permissions: new Set(["profile.write", "telemetry.report"]),
      },
      { token: iam.tokens.otherProjectWriter, project: iam.otherProjectId, permissions: new Set(writer) },
      { token: iam.tokens.foreign, project: iam.foreignProjectId, permissions: new Set(writer) },
    ];
  });
  afterAll(async () => {
    client?.close();
    await gateway?.stop();
    await dir?.remove();
  });

  const agentMetadata = () =>
    metadataOf([
      ["authorization", `Bearer ${iam.tokens.agent}`],
      ["projectid", iam.projectId],
    ]);

  async function call(
    method: MethodSpec,
    messages: readonly Uint8Array[],
    metadata = agentMetadata(),
  ): Promise<CallOutcome> {
    const deadline = Date.now() + DEADLINE_MS;
    const outcome = method.streaming
      ? await client.stream(method.path, messages, metadata, { deadline })
      : await client.unary(method.path, messages[0] ?? new Uint8Array(), metadata, { deadline });
    const key = `${method.name} ${status[outcome.code]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (method.stores && outcome.code === status.OK) acknowledged++;
    if (method.stores && !conclusive(outcome.code, outcome.details)) inconclusive++;
    return outcome;
  }

  it("metadata: only valid credentials with the method's permission get through; refusals are the model's codes", async () => {
    const tokens = Object.values(iam.tokens);
    const projects = [iam.projectId, iam.otherProjectId, iam.foreignProjectId];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS),
        // grpc-js refuses to send two authorization values (and so does node:http2).
        fc.array(authorizationValue(tokens), { maxLength: 1 }),
        // Repeated keys arrive joined ("a, b"): one projectid at most here, so the oracle stays simple.
        fc.array(projectIdValue(projects), { maxLength: 1 }),
        extraMetadata,
        fc.boolean(),
        async (method, authorizations, projectIds, extra, authFirst) => {
          const pairs: Array<[string, string]> = [
            ...authorizations.map((v) => ["authorization", v] as [string, string]),
            ...projectIds.map((v) => ["projectid", v] as [string, string]),
          ];
          if (!authFirst) pairs.reverse();
          const outcome = await call(method, method.seed(), metadataOf([...pairs, ...extra]));
          expectDefined(outcome, method.name);

          // HTTP/2 drops a field whose value starts or ends with whitespace (RFC 9113, 8.2.1).
          const sent = (value: string | undefined) => (value?.trim() === value ? value : undefined);
          const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(sent(authorizations[0]) ?? "")?.[1];
          const wellFormed = bearer !== undefined && /^psc_v1_[0-9a-f]{64}$/.test(bearer);
          const project = sent(projectIds[0]) ?? "";
          const validProject = UUID.test(project);
          const known = tokens.includes(bearer ?? "");
          const allowed = grants.some(
            (g) =>
              g.token === bearer &&
              g.project === project.toLowerCase() &&
              g.permissions.has(method.permission),
          );
          if (allowed && validProject) {
            const got = `${method.name} allowed, got ${status[outcome.code]}: ${outcome.details}`;
            expect(REFUSALS.has(outcome.code), got).toBe(false);
            return;
          }
          const refusal = `${method.name} refused with ${status[outcome.code]}: ${outcome.details}`;
          expect(REFUSALS.has(outcome.code), refusal).toBe(true);
          if (!wellFormed) expect(outcome.code, refusal).toBe(status.UNAUTHENTICATED);
          else if (known && !validProject) expect(outcome.code, refusal).toBe(status.INVALID_ARGUMENT);
          else if (known) expect(outcome.code, refusal).toBe(status.PERMISSION_DENIED);
          else if (validProject) expect(outcome.code, refusal).toBe(status.UNAUTHENTICATED);
        },
      ),
      fuzz,
    );
  });

  it("metadata bounds: many entries and large values are refused or served, never crash or hang", async () => {
    const arrow = METHODS.find((m) => m.name === "WriteArrow")!;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 96 * 1024 }),
        fc.constantFrom("x-pad", "x-pad-bin", "authorization"),
        async (entries, bytes, key) => {
          const pairs: Array<[string, string]> = [];
          if (key !== "authorization") pairs.push(["authorization", `Bearer ${iam.tokens.agent}`]);
          pairs.push(["projectid", iam.projectId]);
          for (let i = 0; i < entries; i++) pairs.push([`x-entry-${i}`, "v"]);
          const value =
            key === "authorization" ? `Bearer ${iam.tokens.agent}${" ".repeat(bytes)}` : "a".repeat(bytes);
          pairs.push([key, value]);
          const outcome = await call(arrow, arrow.seed(), metadataOf(pairs));
          const what = `${entries} entries, ${bytes} bytes of ${key}: ${status[outcome.code]} ${outcome.details}`;
          // Oversized header blocks may be cut off by HTTP/2 itself: the call then fails on the client.
          if (outcome.code !== status.INTERNAL || !/RST_STREAM|Http2/i.test(outcome.details))
            expectDefined(outcome, what);
          if (entries + 3 > 64) expect(outcome.code, what).not.toBe(status.OK);
          // No rate limit is set: only HTTP/2's own header-list bound (ENHANCE_YOUR_CALM) says this.
          if (outcome.code === status.RESOURCE_EXHAUSTED)
            expect(outcome.details, what).toMatch(/^Bandwidth exhausted/);
        },
      ),
      { ...fuzz, numRuns: Math.max(20, Math.floor(RUNS / 3)) },
    );
    const arrowOk = await call(arrow, arrow.seed());
    expect(arrowOk.code).toBe(status.OK);
  });

  it("request bytes: random and mutated messages to every method end with a defined status", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS).chain((method) => {
          const seed = method.seed();
          const messages = method.streaming
            ? fc.array(fc.oneof(...seed.map((s) => requestBytes(s))), { maxLength: 4 })
            : requestBytes(seed[0]!).map((m) => [m]);
          return fc.tuple(fc.constant(method), messages);
        }),
        async ([method, messages]) => {
          expectDefined(await call(method, messages), method.name);
        },
      ),
      fuzz,
    );
  });

  it("payloads inside well-formed requests: mutated Arrow, Write records and WriteRaw series", async () => {
    const [writeRaw, writeArrow, write] = ["WriteRaw", "WriteArrow", "Write"].map(
      (name) => METHODS.find((m) => m.name === name)!,
    );
    const label = fc.record({
      name: fc.oneof(fc.constantFrom("__name__", "node", "job", "__name__", "bad-name", ""), printable(12)),
      value: printable(20),
    });
    const cases = fc.oneof(
      mutations.map((m) => [
        writeArrow!,
        [
          bin(WriteArrowRequestSchema, {
            ipcBuffer: applyMutations(encodeArrowV2({ labels: { node: "n" } }), m),
          }),
        ],
      ]),
      fc.tuple(fc.option(mutations), fc.option(mutations)).map(([a, b]) => {
        const [sample, locations] = writeExchangeSeed().map((s) => fromBinary(WriteRequestSchema, s).record);
        return [
          write!,
          [
            bin(WriteRequestSchema, { record: a ? applyMutations(sample!, a) : sample! }),
            bin(WriteRequestSchema, { record: b ? applyMutations(locations!, b) : locations! }),
          ],
        ];
      }),
      fc
        .array(
          fc.record({
            labels: fc.array(label, { maxLength: 4 }),
            samples: fc.array(
              fc.oneof(fc.constant(encodePprof({ stacks: 1, depth: 1 })), fc.uint8Array({ maxLength: 64 })),
              { maxLength: 2 },
            ),
          }),
          { maxLength: 3 },
        )
        .map((series) => [
          writeRaw!,
          [
            bin(WriteRawRequestSchema, {
              series: series.map((s) => ({
                labels: { labels: s.labels },
                samples: s.samples.map((rawProfile) => ({ rawProfile })),
              })),
            }),
          ],
        ]),
    ) as fc.Arbitrary<[MethodSpec, Uint8Array[]]>;
    await fc.assert(
      fc.asyncProperty(cases, async ([method, messages]) => {
        const outcome = await call(method, messages);
        expectDefined(outcome, method.name);
        // Protobuf framing is intact here: a refusal is the gateway's own, never the transport's.
        expect([status.OK, status.INVALID_ARGUMENT], `${method.name}: ${outcome.details}`).toContain(
          outcome.code,
        );
      }),
      fuzz,
    );
  });

  it("debuginfo: uploads against real upload ids with fuzzed build ids, sizes and chunks", async () => {
    const path = (name: string) => METHODS.find((m) => m.name === name)!;
    const initiated: Array<{ buildId: string; uploadId: string; size: number }> = [];
    for (let i = 0; i < 4; i++) {
      const buildId = `fuzz-upload-${randomUUID()}`;
      const size = 64 * (i + 1);
      const outcome = await call(path("InitiateUpload"), [
        bin(InitiateUploadRequestSchema, { buildId, size: BigInt(size), hash: "h" }),
      ]);
      expect(outcome.code).toBe(status.OK);
      const uploadId = fromBinary(InitiateUploadResponseSchema, outcome.responses[0]!).uploadInstructions!
        .uploadId;
      initiated.push({ buildId, uploadId, size });
    }
    const target = fc.constantFrom(...initiated);
    const buildId = fc.oneof(
      target.map((t) => t.buildId),
      printable(130),
      fc.constantFrom("..", "../../etc/passwd", "a/../../b", "abc\u0000def", "ab", "%2e%2e", "con", "🔥🔥🔥"),
      fc.string({ maxLength: 130 }),
    );
    const uploadId = fc.oneof(
      target.map((t) => t.uploadId),
      fc.uuid(),
      printable(40),
    );
    const type = fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: -5, max: 1000 }));
    const upload = fc
      .tuple(
        buildId,
        uploadId,
        type,
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }),
        fc.boolean(),
      )
      .map(([b, u, t, chunks, infoTwice]) => [
        path("Upload"),
        [
          bin(UploadRequestSchema, { data: { case: "info", value: { buildId: b, uploadId: u, type: t } } }),
          ...(infoTwice
            ? [bin(UploadRequestSchema, { data: { case: "info", value: { buildId: b, uploadId: u } } })]
            : []),
          ...chunks.map((c) => bin(UploadRequestSchema, { data: { case: "chunkData", value: c } })),
        ],
      ]);
    const exact = target.map((t) => [
      path("Upload"),
      [
        bin(UploadRequestSchema, {
          data: { case: "info", value: { buildId: t.buildId, uploadId: t.uploadId } },
        }),
        bin(UploadRequestSchema, { data: { case: "chunkData", value: new Uint8Array(t.size).fill(7) } }),
      ],
    ]);
    const others = fc
      .tuple(
        buildId,
        uploadId,
        type,
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        printable(20),
        fc.boolean(),
      )
      .chain(([b, u, t, size, hash, force]) =>
        fc.constantFrom(
          [
            path("ShouldInitiateUpload"),
            [bin(ShouldInitiateUploadRequestSchema, { buildId: b, hash, force, type: t, buildIdType: t })],
          ],
          [
            path("InitiateUpload"),
            [bin(InitiateUploadRequestSchema, { buildId: b, size, hash, force, type: t })],
          ],
          [
            path("MarkUploadFinished"),
            [bin(MarkUploadFinishedRequestSchema, { buildId: b, uploadId: u, type: t })],
          ],
        ),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(upload, exact, others) as fc.Arbitrary<[MethodSpec, Uint8Array[]]>,
        async ([method, messages]) => {
          const outcome = await call(method, messages);
          expectDefined(outcome, method.name);
          expect(outcome.code, `${method.name}: ${outcome.details}`).not.toBe(status.INTERNAL);
        },
      ),
      fuzz,
    );
  });

  it("raw HTTP/2: odd headers, framing and compression flags end with a gRPC status", async () => {
    const session = await http2Session(gateway.target);
    try {
      const method = fc.constantFrom(...METHODS);
      const header = fc.oneof(
        fc.constantFrom<[string, string | string[]]>(
          ["authorization", `Bearer ${iam.tokens.agent}`],
          ["authorization", `Bearer ${iam.tokens.agent}\u00e9`],
          ["authorization", `Bearer\t${iam.tokens.agent}`],
          ["projectid", [iam.projectId, iam.otherProjectId]],
          ["projectid", `${iam.projectId}\u00ff`],
          ["grpc-timeout", "garbage"],
          ["grpc-timeout", "1n"],
          ["grpc-timeout", "99999999H"],
          ["grpc-encoding", "gzip"],
          ["grpc-encoding", "snappy"],
          ["grpc-encoding", "identity"],
          ["grpc-accept-encoding", "\u00ff"],
          ["content-type", "application/grpc+json"],
          ["te", "gzip"],
        ),
        fc.tuple(
          fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
          fc.string({
            unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
            maxLength: 64,
          }),
        ),
      );
      const frames = (seed: Uint8Array[]) =>
        fc.oneof(
          fc.constant(seed.map((s) => grpcFrame(s))),
          fc.constant(seed.map((s) => grpcFrame(s, { compressed: true }))),
          fc.uint8Array({ maxLength: 64 }).map((b) => [Buffer.from(b)]),
          fc.constant([grpcFrame(new Uint8Array(3), { length: 10 })]),
          fc.constant([Buffer.from([0, 0, 0])]),
          fc.constant([grpcFrame(new Uint8Array(0), { length: 0xffffffff })]),
          fc.constant([grpcFrame(new Uint8Array(0), { length: 64 * 1024 * 1024 + 1 })]),
        );
      await fc.assert(
        fc.asyncProperty(
          method.chain((m) =>
            fc.tuple(fc.constant(m), fc.array(header, { maxLength: 4 }), frames(m.seed()), fc.boolean()),
          ),
          async ([m, headers, body, withProject]) => {
            const extra: Record<string, string | string[]> = {
              authorization: `Bearer ${iam.tokens.agent}`,
              ...(withProject ? { projectid: iam.projectId } : {}),
            };
            for (const [k, v] of headers) extra[k] = v;
            if (session.destroyed || session.closed) throw new Error("the gateway closed the session");
            const outcome = await rawHttp2Call(session, grpcHeaders(m.path, extra), body, {
              timeoutMs: DEADLINE_MS,
            });
            const what = `${m.name} ${JSON.stringify(headers)}: ${JSON.stringify(outcome)}`;
            expect(outcome.timedOut, what).toBe(false);
            if (m.stores && outcome.grpcStatus === status.OK) acknowledged++;
            if (m.stores && !conclusive(outcome.grpcStatus ?? -1, outcome.grpcMessage ?? "")) inconclusive++;
            if (outcome.rstCode !== undefined || outcome.error !== undefined) return;
            if (outcome.httpStatus !== 200) {
              // Not a gRPC request at all (e.g. another content-type): HTTP refuses it.
              expect(outcome.httpStatus, what).toBe(415);
              return;
            }
            expect(outcome.grpcStatus, what).toBeDefined();
            const code = outcome.grpcStatus!;
            const transport = TRANSPORT_STATUS.get(code);
            if (transport) expect(outcome.grpcMessage, what).toMatch(transport);
            else expect(DEFINED.has(code), what).toBe(true);
          },
        ),
        { ...fuzz, numRuns: Math.max(20, Math.floor(RUNS / 2)) },
      );
    } finally {
      session.destroy();
    }
  });

  it("a message announced above the receive limit is INVALID_ARGUMENT (never retried), whatever the method", async () => {
    const session = await http2Session(gateway.target);
    try {
      for (const method of METHODS) {
        for (const length of [64 * 1024 * 1024 + 1, 0xffffffff]) {
          const outcome = await rawHttp2Call(
            session,
            grpcHeaders(method.path, {
              authorization: `Bearer ${iam.tokens.agent}`,
              projectid: iam.projectId,
            }),
            [grpcFrame(new Uint8Array(16), { length })],
            { timeoutMs: DEADLINE_MS, halfClose: false },
          );
          expect(outcome.grpcStatus, `${method.name} ${length}: ${JSON.stringify(outcome)}`).toBe(
            status.INVALID_ARGUMENT,
          );
        }
      }
    } finally {
      session.destroy();
    }
  });

  it("afterwards: the process is up, a valid call succeeds, and the sink holds every acknowledged write, nothing refused, all well-formed", async () => {
    expect(gateway.child.exitCode).toBeNull();
    const health = await fetch(`${gateway.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const writeArrow = METHODS.find((m) => m.name === "WriteArrow")!;
    expect((await call(writeArrow, writeArrow.seed())).code).toBe(status.OK);
    const raw = METHODS.find((m) => m.name === "WriteRaw")!;
    expect((await call(raw, [writeRawSeed()])).code).toBe(status.OK);
    const write = METHODS.find((m) => m.name === "Write")!;
    const ids = [randomStacktraceId()];
    const exchange = [
      bin(WriteRequestSchema, { record: encodeSampleRecord({ labels: {}, stacktraceIds: ids }) }),
      bin(WriteRequestSchema, { record: encodeLocationsRecord(ids) }),
    ];
    expect((await call(write, exchange)).code).toBe(status.OK);

    const { records, problems } = await validateSink(dir.path);
    expect(problems).toEqual([]);
    expect(records.length).toBeGreaterThanOrEqual(acknowledged);
    expect(records.length).toBeLessThanOrEqual(acknowledged + inconclusive);
    expect(await validateDebuginfo(dir.path)).toEqual([]);
    for (const token of Object.values(iam.tokens)) {
      const leaks = gateway.lines.filter((line) => line.includes(token.slice(7)));
      expect(leaks, "a token in the gateway's output").toEqual([]);
    }
    console.info(
      `fuzz: ${RUNS} runs per property; ${acknowledged} writes acknowledged, ${inconclusive} inconclusive, ${records.length} stored; outcomes: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`,
    );
  });
});
