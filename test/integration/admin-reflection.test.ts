import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { credentials, loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessGateway } from "../support/in-process-gateway.js";

const reflectionProto = join(
  dirname(createRequire(import.meta.url).resolve("@grpc/reflection")),
  "../proto/grpc/reflection/v1/reflection.proto",
);

type ReflectionStream = NodeJS.ReadWriteStream & { write(m: unknown): boolean };

describe("server reflection on the admin listener", () => {
  let gw: Awaited<ReturnType<typeof inProcessGateway>>;
  beforeAll(async () => {
    gw = await inProcessGateway();
  });
  afterAll(async () => gw?.close());

  function ask(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: {
        reflection: {
          v1: {
            ServerReflection: new (
              t: string,
              c: unknown,
            ) => Record<string, () => ReflectionStream> & { close(): void };
          };
        };
      };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${gw.gateway.adminAddress.port}`,
      credentials.createInsecure(),
    );
    const call = client["ServerReflectionInfo"]!();
    return new Promise((resolve, reject) => {
      call.on("data", (response: Record<string, unknown>) => {
        resolve(response);
        call.end();
        client.close();
      });
      call.on("error", reject);
      call.write(request);
    });
  }

  it("lists the admin API's services without credentials, as grpcurl does", async () => {
    const response = await ask({ list_services: "" });
    const names = (response["list_services_response"] as { service: Array<{ name: string }> }).service.map(
      (s) => s.name,
    );
    expect(names).toEqual(
      expect.arrayContaining([
        "profgate.iam.v1.OrganizationService",
        "profgate.iam.v1.ProjectService",
        "profgate.iam.v1.ServiceAccountService",
        "profgate.iam.v1.ServiceAccountTokenService",
        "profgate.iam.v1.RoleBindingService",
        "profgate.iam.v1.AuditService",
      ]),
    );
  });

  it("describes a method's file, with its imports", async () => {
    const response = await ask({ file_containing_symbol: "profgate.iam.v1.ServiceAccountTokenService" });
    const files = (response["file_descriptor_response"] as { file_descriptor_proto: Buffer[] })
      .file_descriptor_proto;
    const text = files.map((f) => f.toString("latin1")).join("\n");
    expect(text).toContain("profgate/iam/v1/iam.proto");
    expect(text).toContain("google/protobuf/timestamp.proto");
  });
});
