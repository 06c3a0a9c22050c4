import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/** A request as received: the exact bytes on the wire and their decoded form. */
export interface Received<T> {
  raw: Buffer;
  message: T;
}

function codec<Desc extends DescMessage>(schema: Desc) {
  return {
    /** Accepts a message or a plain init object of the message's shape. */
    serialize: (value: MessageShape<Desc>): Buffer => {
      const message = isMessage(value, schema) ? value : create(schema, value as never);
      const bytes = toBinary(schema, message);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes: Buffer): MessageShape<Desc> => fromBinary(schema, bytes),
  };
}

/**
 * Builds a grpc-js service definition from a protoc-gen-es service descriptor. Requests are
 * decoded into messages; with `keepRaw`, each request also carries the bytes it was decoded
 * from, so that a handler can store or forward exactly what the client sent.
 */
export function serviceDefinition(
  service: DescService,
  options: { keepRaw?: boolean } = {},
): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const input = codec(method.input);
    const output = codec(method.output);
    const deserialize = options.keepRaw
      ? (raw: Buffer): Received<unknown> => ({ raw, message: input.deserialize(raw) })
      : input.deserialize;
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: input.serialize as (value: unknown) => Buffer,
      requestDeserialize: deserialize as (bytes: Buffer) => unknown,
      responseSerialize: output.serialize as (value: unknown) => Buffer,
      responseDeserialize: output.deserialize,
      originalName: method.name,
    };
  }
  return definition;
}
