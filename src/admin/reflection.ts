import { toBinary } from "@bufbuild/protobuf";
import type { DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

function withDependencies(file: DescFile, seen = new Map<string, DescFile>()): Map<string, DescFile> {
  if (seen.has(file.name)) return seen;
  seen.set(file.name, file);
  for (const dependency of file.dependencies) withDependencies(dependency, seen);
  return seen;
}

/**
 * Adds gRPC server reflection (v1 and v1alpha) describing `files` and their imports, so that
 * `grpcurl` and similar tools work against the listener without local .proto files.
 */
export function addReflection(server: Server, files: DescFile[]): void {
  const all = new Map<string, DescFile>();
  for (const file of files) withDependencies(file, all);
  const fileDescriptorProtos = [...all.values()].map((f) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)),
  );
  // @grpc/reflection reads only `fileDescriptorProtos` of the package definition's entries.
  const definition = { files: { format: "Protocol Buffer 3 DescriptorProto", fileDescriptorProtos } };
  new ReflectionService(
    definition as unknown as ConstructorParameters<typeof ReflectionService>[0],
  ).addToServer(server);
}
