import { Readable } from "node:stream";
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "../../src/edge/create-edge.js";
import { checkGrpcInternals, limitReadAhead, oversizeRefusal } from "../../src/edge/grpc-internals.js";
import { DebuginfoService } from "../../src/gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { TelemetryService } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { rawServiceDefinition } from "../../src/rpc/raw-service-definition.js";

const CALLER = {
  organizationId: "org-1",
  projectId: "",
  serviceAccountId: "sa-1",
  tokenId: "tok-1",
  tokenHash: "",
  grants: [],
  installationOwner: false,
};

type RawClient = Client & {
  reportPanic(
    request: Buffer,
    metadata: Metadata,
    callback: (error: ServiceError | null, response?: Buffer) => void,
  ): void;
  upload(metadata: Metadata, callback: (error: ServiceError | null) => void): NodeJS.WritableStream;
};

describe("grpc-js internals the edge relies on", () => {
  it("are all where grpc-internals.ts expects them", () => {
    expect(() => checkGrpcInternals()).not.toThrow();
  });

  it("maps grpc-js's oversize refusals, before and after decompression, to INVALID_ARGUMENT naming the limit", () => {
    expect(
      oversizeRefusal({
        code: status.RESOURCE_EXHAUSTED,
        details: "Received message larger than max (5242880 vs 4194304)",
      }),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      details:
        "The message of 5242880 bytes is larger than the gateway's limit of 4194304 bytes; send smaller batches.",
    });
    expect(
      oversizeRefusal({
        code: status.RESOURCE_EXHAUSTED,
        details: "Received message that decompresses to a size larger than 4194304",
      })?.details,
    ).toBe(
      "The message decompresses to more than the gateway's limit of 4194304 bytes; send smaller batches.",
    );
    expect(oversizeRefusal({ code: status.RESOURCE_EXHAUSTED, details: "rate limited" })).toBeUndefined();
    expect(
      oversizeRefusal({ code: status.INTERNAL, details: "Received message larger than max (1 vs 0)" }),
    ).toBeUndefined();
  });

  it("lowers a stream's read-ahead", () => {
    const stream = new Readable({ objectMode: true, read() {} });
    expect(stream.readableHighWaterMark).toBe(16);
    limitReadAhead(stream, 1);
    expect(stream.readableHighWaterMark).toBe(1);
  });
});

describe("an edge with grpc-js's default receive limit (the admin listener's)", () => {
  let edge: Edge;
  let target = "";
  const uploadReadAhead: number[] = [];

  beforeAll(async () => {
    // Every call authenticated as the same caller: the limits are what is tested here.
    edge = createEdge({
      policyFor: () => ({ project: false }),
      decide: () => CALLER,
    });
    edge.addService({
      definition: rawServiceDefinition(TelemetryService),
      implementation: {
        reportPanic: (_call: unknown, callback: (e: null, r: Buffer) => void) =>
          callback(null, Buffer.alloc(0)),
      },
    });
    edge.addService({
      definition: rawServiceDefinition(DebuginfoService),
      implementation: {
        upload: (call: Readable, callback: (e: null, r: Buffer) => void) => {
          uploadReadAhead.push(call.readableHighWaterMark);
          call.resume();
          call.on("end", () => callback(null, Buffer.alloc(0)));
        },
      },
    });
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    target = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await edge.close(1000);
  });

  const client = (options: Record<string, number> = {}) => {
    const Telemetry = makeGenericClientConstructor(rawServiceDefinition(TelemetryService), "Telemetry");
    return new Telemetry(target, credentials.createInsecure(), {
      "grpc.max_send_message_length": 64 * 1024 * 1024,
      ...options,
    }) as unknown as RawClient;
  };
  const call = (c: RawClient, bytes: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) =>
      c.reportPanic(bytes, new Metadata(), (error) =>
        resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: "" }),
      ),
    );

  it("refuses a 5 MiB message with INVALID_ARGUMENT naming its own limit, 4 MiB", async () => {
    const c = client();
    try {
      const refused = await call(c, Buffer.alloc(5 * 1024 * 1024, 1));
      expect(refused.code).toBe(status.INVALID_ARGUMENT);
      expect(refused.details).toMatch(/of 5242880 bytes is larger than the gateway's limit of 4194304 bytes/);
      expect((await call(c, Buffer.alloc(1024, 1))).code).toBe(status.OK);
    } finally {
      c.close();
    }
  });

  it("refuses a gzip message that decompresses past the limit the same way", async () => {
    // grpc-js's compression algorithm 2 is gzip; 5 MiB of zeros compress to a few KiB.
    const c = client({ "grpc.default_compression_algorithm": 2 });
    try {
      const refused = await call(c, Buffer.alloc(5 * 1024 * 1024));
      expect(refused.code).toBe(status.INVALID_ARGUMENT);
      expect(refused.details).toMatch(/decompresses to more than the gateway's limit of 4194304 bytes/);
    } finally {
      c.close();
    }
  });

  it("reads a client stream at most one message ahead of its handler", async () => {
    const Debuginfo = makeGenericClientConstructor(rawServiceDefinition(DebuginfoService), "Debuginfo");
    const c = new Debuginfo(target, credentials.createInsecure()) as unknown as RawClient;
    try {
      await new Promise<void>((resolve, reject) => {
        const stream = c.upload(new Metadata(), (error) => (error ? reject(error) : resolve()));
        stream.write(Buffer.from("chunk"));
        stream.end();
      });
      expect(uploadReadAhead).toEqual([1]);
    } finally {
      c.close();
    }
  });
});
