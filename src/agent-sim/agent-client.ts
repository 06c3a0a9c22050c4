import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type ChannelCredentials,
  type Client,
  credentials as grpcCredentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  DebuginfoService,
  type InitiateUploadRequestSchema,
  type InitiateUploadResponse,
  type MarkUploadFinishedRequestSchema,
  type ShouldInitiateUploadRequestSchema,
  type ShouldInitiateUploadResponse,
  type UploadInfoSchema,
  UploadRequestSchema,
  type UploadResponse,
} from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import {
  AgentsService,
  type AgentsResponse,
  ProfileStoreService,
  type WriteRawRequestSchema,
  type WriteResponse,
} from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { serviceDefinition } from "../rpc/service-definition.js";

/** How an agent identifies itself; either may be left out to exercise refusals. */
export interface AgentCredentials {
  token?: string;
  projectId?: string;
  /** Extra metadata sent on every call. */
  headers?: Record<string, string>;
}

type AnyClient = Client & Record<string, (...args: unknown[]) => unknown>;
const clientClass = (service: Parameters<typeof serviceDefinition>[0]) =>
  makeGenericClientConstructor(serviceDefinition(service), service.typeName);

/**
 * A client that speaks parca-agent's protocol over a real connection: the same methods,
 * metadata (`authorization: Bearer`, `projectid`) and Write exchange. Failed calls reject with
 * grpc-js ServiceErrors carrying the status code.
 */
export class AgentClient {
  private readonly profiles: AnyClient;
  private readonly agentsClient: AnyClient;
  private readonly debuginfo: AnyClient;
  private readonly telemetry: AnyClient;

  constructor(
    target: string,
    private readonly creds: AgentCredentials,
    channel: ChannelCredentials = grpcCredentials.createInsecure(),
    options: Record<string, unknown> = {},
  ) {
    const opts = { "grpc.max_send_message_length": 64 * 1024 * 1024, ...options };
    this.profiles = new (clientClass(ProfileStoreService))(target, channel, opts) as AnyClient;
    const shared = { channelOverride: this.profiles.getChannel() };
    this.agentsClient = new (clientClass(AgentsService))(target, channel, shared) as AnyClient;
    this.debuginfo = new (clientClass(DebuginfoService))(target, channel, shared) as AnyClient;
    this.telemetry = new (clientClass(TelemetryService))(target, channel, shared) as AnyClient;
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.creds.token !== undefined) metadata.set("authorization", `Bearer ${this.creds.token}`);
    if (this.creds.projectId !== undefined) metadata.set("projectid", this.creds.projectId);
    for (const [key, value] of Object.entries(this.creds.headers ?? {})) metadata.set(key, value);
    return metadata;
  }

  writeRaw(
    request: MessageInitShape<typeof WriteRawRequestSchema>,
    options: CallOptions = {},
  ): Promise<void> {
    return this.unary(this.profiles, "writeRaw", request, options).then(() => undefined);
  }

  writeArrow(ipcBuffer: Uint8Array, options: CallOptions = {}): Promise<void> {
    return this.unary(this.profiles, "writeArrow", { ipcBuffer }, options).then(() => undefined);
  }

  /**
   * The v1 Write exchange as the agent runs it: send the sample record, read the response, send
   * the locations record if stacktraces were asked for (built by `locationsFor` from the
   * response), then wait for the server to end the call without half-closing first.
   */
  write(
    sampleRecord: Uint8Array,
    locationsFor: (wanted: Uint8Array) => Uint8Array | Promise<Uint8Array>,
    options: CallOptions = {},
  ): Promise<{ wanted: Uint8Array }> {
    return new Promise((resolve, reject) => {
      const call = (
        this.profiles["write"] as (
          m: Metadata,
          o: CallOptions,
        ) => NodeJS.ReadWriteStream & {
          write(m: unknown): boolean;
        }
      )(this.metadata(), options);
      let wanted: Uint8Array | undefined;
      call.on("data", (response: WriteResponse) => {
        wanted = response.record;
        if (response.record.length > 0)
          Promise.resolve(locationsFor(response.record)).then((record) => call.write({ record }), reject);
      });
      call.on("error", reject);
      call.on("status", (status: { code: number }) => {
        if (status.code === 0) resolve({ wanted: wanted ?? new Uint8Array() });
      });
      call.write({ record: sampleRecord });
    });
  }

  shouldInitiateUpload(request: MessageInitShape<typeof ShouldInitiateUploadRequestSchema>) {
    return this.unary(
      this.debuginfo,
      "shouldInitiateUpload",
      request,
    ) as Promise<ShouldInitiateUploadResponse>;
  }

  initiateUpload(request: MessageInitShape<typeof InitiateUploadRequestSchema>) {
    return this.unary(this.debuginfo, "initiateUpload", request) as Promise<InitiateUploadResponse>;
  }

  markUploadFinished(request: MessageInitShape<typeof MarkUploadFinishedRequestSchema>) {
    return this.unary(this.debuginfo, "markUploadFinished", request).then(() => undefined);
  }

  /** The client-streamed Upload: the info first, then the chunks, respecting backpressure. */
  upload(
    info: MessageInitShape<typeof UploadInfoSchema>,
    chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  ): Promise<UploadResponse> {
    return new Promise((resolve, reject) => {
      const call = (
        this.debuginfo["upload"] as (
          m: Metadata,
          cb: (e: ServiceError | null, r?: UploadResponse) => void,
        ) => NodeJS.WritableStream & { write(m: unknown): boolean }
      )(this.metadata(), (error, response) => (error ? reject(error) : resolve(response as UploadResponse)));
      (async () => {
        call.write(create(UploadRequestSchema, { data: { case: "info", value: info } }));
        for await (const chunk of chunks) {
          if (!call.write(create(UploadRequestSchema, { data: { case: "chunkData", value: chunk } }))) {
            await new Promise((drained) => call.once("drain", drained));
          }
        }
        call.end();
      })().catch(reject);
    });
  }

  reportPanic(stderr: string, metadata: Record<string, string> = {}): Promise<void> {
    return this.unary(this.telemetry, "reportPanic", { stderr, metadata }).then(() => undefined);
  }

  agents(): Promise<AgentsResponse> {
    return this.unary(this.agentsClient, "agents", {}) as Promise<AgentsResponse>;
  }

  /**
   * Sends `request` (an already serialized request message) to the unary method `path` as is,
   * byte for byte, and resolves with the serialized response: for replaying recorded traffic.
   */
  unaryRaw(path: string, request: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.profiles.makeUnaryRequest(
        path,
        (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        (bytes: Buffer) => bytes,
        request,
        this.metadata(),
        options,
        (error, response) => (error ? reject(error) : resolve(response as Buffer)),
      );
    });
  }

  close(): void {
    for (const client of [this.agentsClient, this.debuginfo, this.telemetry, this.profiles]) client.close();
  }

  private unary(
    client: AnyClient,
    method: string,
    request: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      (client[method] as (...a: unknown[]) => void)(
        request,
        this.metadata(),
        options,
        (error: ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response)),
      );
    });
  }
}
