import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  ServerCredentials,
  type ServerDuplexStream,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "../../src/edge/create-edge.js";
import { DomainError, RelayedStatus } from "../../src/errors.js";
import { ProfileStoreService } from "../../src/gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../../src/gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { asCallError } from "../../src/rpc/call-error.js";
import { rawServiceDefinition } from "../../src/rpc/raw-service-definition.js";

/** What each request (its text) makes the handler fail with. */
const FAILURES: Record<string, unknown> = {
  domain: new DomainError("permission_denied", "Permission denied: not yours.", "permission_denied"),
  relayed: new RelayedStatus(status.FAILED_PRECONDITION, "the upstream says no"),
  disk: Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }),
  files: Object.assign(new Error("EMFILE: too many open files, open"), { code: "EMFILE" }),
  bug: new TypeError("Cannot read properties of undefined (reading 'x')"),
  token: new DomainError("invalid_argument", `bad psc_v1_${"ab".repeat(32)} here`),
};

type Outcome = { code: number; details: string };

describe("the edge maps what handlers report to statuses in one place", () => {
  let edge: Edge;
  let target = "";
  const faults: Array<{ path: string; cause: unknown }> = [];

  beforeAll(async () => {
    edge = createEdge({
      policyFor: () => "public",
      decide: () => {
        throw new Error("public methods need no decision");
      },
      hooks: { onHandlerFault: (path, cause) => faults.push({ path, cause }) },
    });
    edge.addService({
      definition: rawServiceDefinition(TelemetryService),
      implementation: {
        reportPanic: (call: { request: Buffer }, callback: sendUnaryData<Buffer>) =>
          callback(asCallError(FAILURES[call.request.toString()])),
      },
    });
    edge.addService({
      definition: rawServiceDefinition(ProfileStoreService),
      implementation: {
        write: (call: ServerDuplexStream<Buffer, Buffer>) =>
          call.on("data", (m: Buffer) => call.emit("error", FAILURES[m.toString()])),
      },
    });
    const { port } = await edge.listen({ host: "127.0.0.1", port: 0 }, ServerCredentials.createInsecure());
    target = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await edge.close(1000);
  });

  const unary = (what: string) => {
    const Ctor = makeGenericClientConstructor(rawServiceDefinition(TelemetryService), "T");
    const client = new Ctor(target, credentials.createInsecure()) as unknown as Client & {
      reportPanic(r: Buffer, m: Metadata, cb: (e: ServiceError | null) => void): void;
    };
    return new Promise<Outcome>((resolve) =>
      client.reportPanic(Buffer.from(what), new Metadata(), (e) => {
        client.close();
        resolve({ code: e?.code ?? status.OK, details: e?.details ?? "" });
      }),
    );
  };
  const stream = (what: string) => {
    const Ctor = makeGenericClientConstructor(rawServiceDefinition(ProfileStoreService), "P");
    const client = new Ctor(target, credentials.createInsecure()) as unknown as Client & {
      write(): NodeJS.ReadWriteStream;
    };
    const call = client.write();
    return new Promise<Outcome>((resolve) => {
      call.on("error", (e: ServiceError) => {
        client.close();
        resolve({ code: e.code, details: e.details });
      });
      call.write(Buffer.from(what));
    });
  };

  it("keeps a DomainError's sentence and kind, redacting tokens", async () => {
    expect(await unary("domain")).toEqual({
      code: status.PERMISSION_DENIED,
      details: "Permission denied: not yours.",
    });
    expect(await stream("domain")).toEqual({
      code: status.PERMISSION_DENIED,
      details: "Permission denied: not yours.",
    });
    const redacted = await unary("token");
    expect(redacted.code).toBe(status.INVALID_ARGUMENT);
    expect(redacted.details).toBe("bad psc_v1_[REDACTED] here");
  });

  it("passes a relayed upstream status on unchanged", async () => {
    expect(await unary("relayed")).toEqual({
      code: status.FAILED_PRECONDITION,
      details: "the upstream says no",
    });
    expect(await stream("relayed")).toEqual({
      code: status.FAILED_PRECONDITION,
      details: "the upstream says no",
    });
  });

  it("answers a full disk or no file descriptor left UNAVAILABLE, each saying which, and a bug a generic INTERNAL, with the cause for the log only", async () => {
    const before = faults.length;
    const disk = await unary("disk");
    expect(disk.code).toBe(status.UNAVAILABLE);
    expect(disk.details).toMatch(/could not store the data/);
    // Out of descriptors is not a full disk: the operator must not go looking for space.
    const files = await unary("files");
    expect(files.code).toBe(status.UNAVAILABLE);
    expect(files.details).toBe("The gateway has no file descriptor left to serve this call; retry later.");
    const bug = await unary("bug");
    expect(bug).toEqual({ code: status.INTERNAL, details: "Internal error; see the gateway's log." });
    expect((await stream("bug")).code).toBe(status.INTERNAL);
    const logged = faults.slice(before);
    expect(logged.map((f) => f.path)).toEqual([
      "/parca.telemetry.v1alpha1.TelemetryService/ReportPanic",
      "/parca.telemetry.v1alpha1.TelemetryService/ReportPanic",
      "/parca.telemetry.v1alpha1.TelemetryService/ReportPanic",
      "/parca.profilestore.v1alpha1.ProfileStoreService/Write",
    ]);
    expect(logged[2]?.cause).toBeInstanceOf(TypeError);
  });
});
