import type { DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  type Client,
  type ChannelCredentials,
  credentials as grpcCredentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { serviceDefinition } from "../../rpc/service-definition.js";

type UnaryMethods<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethodUnary ? S["method"][K] : never;
};

/**
 * A typed client of one admin API service: `call("createServiceAccount", { name })` sends the
 * request with the caller's bearer token and resolves with the response message.
 */
export class AdminClient<S extends DescService> {
  private readonly client: Client & Record<string, (...args: unknown[]) => void>;

  constructor(
    private readonly service: S,
    target: string,
    private readonly token: string,
    channel: ChannelCredentials = grpcCredentials.createInsecure(),
  ) {
    const Constructor = makeGenericClientConstructor(serviceDefinition(service), service.typeName);
    this.client = new Constructor(target, channel) as typeof this.client;
  }

  call<K extends keyof UnaryMethods<S> & string>(
    method: K,
    request: MessageInitShape<UnaryMethods<S>[K]["input"]>,
    timeoutMs = 15_000,
  ): Promise<MessageShape<UnaryMethods<S>[K]["output"]>> {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${this.token}`);
    return new Promise((resolve, reject) => {
      const fn = this.client[this.service.method[method]!.localName];
      if (!fn) throw new Error(`unknown method ${method}`);
      fn.call(
        this.client,
        request,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error: ServiceError | null, response: MessageShape<UnaryMethods<S>[K]["output"]>) =>
          error ? reject(error) : resolve(response),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
