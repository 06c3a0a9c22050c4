import type {
  ServerDuplexStream,
  ServerUnaryCall,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { authContextOf } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import { describeError } from "../errors.js";
import {
  type WriteArrowRequest,
  WriteArrowResponseSchema,
  type WriteRawRequest,
  WriteRawResponseSchema,
} from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import type { Received } from "../rpc/service-definition.js";
import { asCallError } from "../rpc/call-error.js";
import { agentIdOf } from "./agent-registry.js";
import { schemaVersion } from "./arrow/index.js";
import type { IngestDeps } from "./ingest-deps.js";
import { recordOrigin } from "../record-log/record.js";
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

  /** Ends a write: the agent's status for `Agents`, and the rejection reason for metrics. */
  const finish = (call: { getPeer(): string }, method: string, auth: AuthContext, started: number) => ({
    ok: (node?: string) => track(call.getPeer(), auth.projectId, node, started),
    failed: (error: unknown, node?: string) => {
      track(call.getPeer(), auth.projectId, node, started, errorText(error));
      deps.onRejected?.(method, describeError(error).reason);
    },
  });

  /**
   * A unary write (already admitted by the edge): `check` validates the request cheaply and
   * names the payload to store as received; then the durable append, and only then the answer.
   */
  const unaryWrite =
    <Req>(
      method: "WriteRaw" | "WriteArrow",
      check: (request: Received<Req>) => { payload: Uint8Array; node?: string | undefined },
      response: () => unknown,
    ) =>
    (call: ServerUnaryCall<Received<Req>, unknown>, callback: sendUnaryData<unknown>) => {
      const started = deps.now();
      const auth = authContextOf(call);
      const done = finish(call, method, auth, started);
      let node: string | undefined;
      Promise.resolve()
        .then(async () => {
          const checked = check(call.request);
          node = checked.node;
          await deps.sink.append({
            ...recordOrigin(auth),
            receivedAt: started,
            method,
            payloads: [checked.payload],
          });
        })
        .then(
          () => {
            done.ok(node);
            callback(null, response());
          },
          (error: unknown) => {
            done.failed(error, node);
            callback(asCallError(error));
          },
        );
    };

  return {
    writeRaw: unaryWrite<WriteRawRequest>(
      "WriteRaw",
      (request) => ({ payload: request.raw, node: validateWriteRaw(request.message).node }),
      () => create(WriteRawResponseSchema),
    ),

    writeArrow: unaryWrite<WriteArrowRequest>(
      "WriteArrow",
      (request) => {
        schemaVersion(request.message.ipcBuffer);
        return { payload: request.message.ipcBuffer };
      },
      () => create(WriteArrowResponseSchema),
    ),

    write(call: ServerDuplexStream<unknown, unknown>) {
      const auth = authContextOf(call);
      const done = finish(call, "Write", auth, deps.now());
      handleWriteExchange(call, auth, deps).then(
        () => done.ok(),
        (error: unknown) => done.failed(error),
      );
    },
  };
}

function errorText(error: unknown): string {
  return describeError(error).message;
}
