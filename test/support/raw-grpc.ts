import {
  type CallOptions,
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";

/** How one call ended, as the client saw it; never a rejection. */
export interface CallOutcome {
  code: number;
  details: string;
  /** The serialized response messages, in order. */
  responses: Buffer[];
  /** Wall time from the start of the call to its status. */
  ms: number;
}

/** Metadata from plain pairs; a `-bin` key takes its value as latin1 bytes. */
export function metadataOf(pairs: ReadonlyArray<readonly [string, string]>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of pairs) {
    if (key.endsWith("-bin")) metadata.add(key, Buffer.from(value, "latin1"));
    else metadata.add(key, value);
  }
  return metadata;
}

const identity = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * A grpc-js client that sends request bytes as they are (identity serializers) to any method
 * path, with any metadata per call: for fuzzing the server with what a real client could put
 * on the wire. Unary and streaming calls resolve with their outcome; they never reject.
 */
export class RawGrpcClient {
  private readonly client: Client;

  constructor(target: string, options: Record<string, unknown> = {}) {
    const Generic = makeGenericClientConstructor({}, "RawGrpc");
    this.client = new Generic(target, credentials.createInsecure(), {
      "grpc.max_send_message_length": 128 * 1024 * 1024,
      "grpc.max_receive_message_length": 128 * 1024 * 1024,
      ...options,
    });
  }

  unary(
    path: string,
    request: Uint8Array,
    metadata: Metadata,
    options: CallOptions = {},
  ): Promise<CallOutcome> {
    const started = performance.now();
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        path,
        identity,
        (bytes: Buffer) => bytes,
        request,
        metadata,
        options,
        (error: ServiceError | null, response?: Buffer) =>
          resolve({
            code: error ? error.code : 0,
            details: error ? error.details : "",
            responses: response ? [response] : [],
            ms: performance.now() - started,
          }),
      );
    });
  }

  /**
   * A streaming call (client, server or bidi on the wire are all one HTTP/2 stream): writes
   * `requests` in order, half-closes when `halfClose` (default true), and resolves at the status.
   */
  stream(
    path: string,
    requests: readonly Uint8Array[],
    metadata: Metadata,
    options: CallOptions & { halfClose?: boolean } = {},
  ): Promise<CallOutcome> {
    const started = performance.now();
    const { halfClose = true, ...callOptions } = options;
    return new Promise((resolve) => {
      const call = this.client.makeBidiStreamRequest(
        path,
        identity,
        (bytes: Buffer) => bytes,
        metadata,
        callOptions,
      );
      const responses: Buffer[] = [];
      call.on("data", (response: Buffer) => responses.push(response));
      // The status event always comes; "error" is only its failing twin.
      call.on("error", () => {});
      call.on("status", (status: { code: number; details: string }) =>
        resolve({ code: status.code, details: status.details, responses, ms: performance.now() - started }),
      );
      for (const request of requests) call.write(request);
      if (halfClose) call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}

/** A gRPC length-prefixed message frame: flag byte, big-endian u32 length, the bytes. */
export function grpcFrame(
  message: Uint8Array,
  options: { compressed?: boolean; length?: number } = {},
): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(options.compressed ? 1 : 0, 0);
  header.writeUInt32BE(options.length ?? message.byteLength, 1);
  return Buffer.concat([header, message]);
}
