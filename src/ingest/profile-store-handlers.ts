import type {
  ServerDuplexStream,
  ServerUnaryCall,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { authContextOf } from "../auth/auth-interceptor.js";
import {
  type WriteArrowRequest,
  WriteArrowResponseSchema,
  type WriteRawRequest,
  WriteRawResponseSchema,
} from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import type { Received } from "../rpc/service-definition.js";
import { toServiceError, toStatus } from "../rpc/to-status.js";
import { agentIdOf } from "./agent-registry.js";
import { schemaVersion } from "./arrow/index.js";
import type { IngestDeps } from "./ingest-deps.js";
import { handleWriteExchange } from "./write-exchange.js";
import { validateWriteRaw } from "./validate-write-raw.js";

/**
 * ProfileStoreService: validate what the agent sent (cheaply, without re-encoding), hand the
 * exact bytes to the sink, and acknowledge only once the sink made them durable.
 */
export function profileStoreHandlers(deps: IngestDeps): UntypedServiceImplementation {
  const track = (
    peer: string,
    projectId: string,
    node: string | undefined,
    started: number,
    error?: string,
  ) =>
    deps.agents.record(projectId, {
      id: agentIdOf(peer, node),
      lastPush: deps.now(),
      lastPushDurationMs: deps.now() - started,
      lastError: error ?? "",
    });

  return {
    writeRaw(call: ServerUnaryCall<Received<WriteRawRequest>, unknown>, callback: sendUnaryData<unknown>) {
      const started = deps.now();
      const auth = authContextOf(call);
      let node: string | undefined;
      Promise.resolve()
        .then(async () => {
          node = validateWriteRaw(call.request.message).node;
          await deps.admit?.(auth, call.request.raw.byteLength);
          return deps.sink.append({
            ...origin(auth),
            receivedAt: started,
            method: "WriteRaw",
            payloads: [call.request.raw],
          });
        })
        .then(
          () => {
            track(call.getPeer(), auth.projectId, node, started);
            callback(null, create(WriteRawResponseSchema));
          },
          (error: unknown) => {
            track(call.getPeer(), auth.projectId, node, started, errorText(error));
            deps.onRejected?.("WriteRaw", toStatus(error).reason);
            callback(toServiceError(error));
          },
        );
    },

    writeArrow(
      call: ServerUnaryCall<Received<WriteArrowRequest>, unknown>,
      callback: sendUnaryData<unknown>,
    ) {
      const started = deps.now();
      const auth = authContextOf(call);
      const ipc = call.request.message.ipcBuffer;
      Promise.resolve()
        .then(async () => {
          schemaVersion(ipc);
          await deps.admit?.(auth, ipc.byteLength);
          return deps.sink.append({
            ...origin(auth),
            receivedAt: started,
            method: "WriteArrow",
            payloads: [ipc],
          });
        })
        .then(
          () => {
            track(call.getPeer(), auth.projectId, undefined, started);
            callback(null, create(WriteArrowResponseSchema));
          },
          (error: unknown) => {
            track(call.getPeer(), auth.projectId, undefined, started, errorText(error));
            deps.onRejected?.("WriteArrow", toStatus(error).reason);
            callback(toServiceError(error));
          },
        );
    },

    write(call: ServerDuplexStream<unknown, unknown>) {
      const started = deps.now();
      const auth = authContextOf(call);
      handleWriteExchange(call, auth, deps).then(
        () => track(call.getPeer(), auth.projectId, undefined, started),
        (error: unknown) => {
          track(call.getPeer(), auth.projectId, undefined, started, errorText(error));
          deps.onRejected?.("Write", toStatus(error).reason);
        },
      );
    },
  };
}

export function origin(auth: {
  organizationId: string;
  projectId: string;
  serviceAccountId: string;
  tokenId: string;
}) {
  return {
    organizationId: auth.organizationId,
    projectId: auth.projectId,
    serviceAccountId: auth.serviceAccountId,
    tokenId: auth.tokenId,
  };
}

function errorText(error: unknown): string {
  return toServiceError(error).details ?? "error";
}
