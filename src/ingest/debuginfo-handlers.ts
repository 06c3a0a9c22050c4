import { create } from "@bufbuild/protobuf";
import type {
  ServerReadableStream,
  ServerUnaryCall,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import { DomainError, describeError, invalidArgument } from "../errors.js";
import {
  type InitiateUploadRequest,
  InitiateUploadResponseSchema,
  type MarkUploadFinishedRequest,
  MarkUploadFinishedResponseSchema,
  type ShouldInitiateUploadRequest,
  ShouldInitiateUploadResponseSchema,
  type UploadRequest,
  UploadInstructions_UploadStrategy,
  UploadResponseSchema,
} from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { asCallError } from "../rpc/call-error.js";
import type { Received } from "../rpc/service-definition.js";
import type { DebuginfoUpload } from "./debuginfo/upload-writer.js";
import {
  buildIdTypeFromWire,
  debuginfoTypeFromWire,
  debuginfoTypeToWire,
} from "./debuginfo/debuginfo-type.js";
import type { IngestDeps } from "./ingest-deps.js";

type Unary<Req> = (call: ServerUnaryCall<Received<Req>, unknown>, callback: sendUnaryData<unknown>) => void;

/** Runs `work` and answers the unary call with its result or the mapped error. */
function unary<Req>(
  deps: IngestDeps,
  method: string,
  work: (request: Req, projectId: string, auth: AuthContext) => Promise<unknown>,
): Unary<Req> {
  return (call, callback) => {
    const auth = authContextOf(call);
    Promise.resolve()
      .then(() => work(call.request.message, auth.projectId, auth))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          deps.onRejected?.(method, describeError(error).reason);
          callback(asCallError(error));
        },
      );
  };
}

/**
 * DebuginfoService with the gRPC upload strategy against the local debuginfo store, scoped to
 * the caller's project. Upload chunks are written as they arrive, one at a time, so memory
 * stays bounded however large the file.
 */
export function debuginfoHandlers(deps: IngestDeps): UntypedServiceImplementation {
  const store = deps.debuginfo;
  return {
    shouldInitiateUpload: unary<ShouldInitiateUploadRequest>(
      deps,
      "ShouldInitiateUpload",
      async (r, projectId) => {
        const decision = await store.shouldInitiateUpload({
          projectId,
          buildId: r.buildId,
          hash: r.hash,
          force: r.force,
          type: debuginfoTypeFromWire(r.type),
          buildIdType: buildIdTypeFromWire(r.buildIdType),
        });
        return create(ShouldInitiateUploadResponseSchema, decision);
      },
    ),

    initiateUpload: unary<InitiateUploadRequest>(deps, "InitiateUpload", async (r, projectId, auth) => {
      const instructions = await store.initiateUpload({
        projectId,
        quotaBytes: auth.projectLimits?.debuginfoBytes || deps.debuginfoQuotaBytes,
        buildId: r.buildId,
        size: r.size,
        hash: r.hash,
        force: r.force,
        type: debuginfoTypeFromWire(r.type),
        buildIdType: buildIdTypeFromWire(r.buildIdType),
      });
      return create(InitiateUploadResponseSchema, {
        uploadInstructions: {
          buildId: instructions.buildId,
          uploadId: instructions.uploadId,
          uploadStrategy: UploadInstructions_UploadStrategy.GRPC,
          type: debuginfoTypeToWire(instructions.type),
        },
      });
    }),

    markUploadFinished: unary<MarkUploadFinishedRequest>(deps, "MarkUploadFinished", async (r, projectId) => {
      await store.markUploadFinished({
        projectId,
        buildId: r.buildId,
        uploadId: r.uploadId,
        type: debuginfoTypeFromWire(r.type),
      });
      return create(MarkUploadFinishedResponseSchema);
    }),

    upload(call: ServerReadableStream<Received<UploadRequest>, unknown>, callback: sendUnaryData<unknown>) {
      const { projectId } = authContextOf(call);
      // A cancelled call would otherwise leave the iteration below waiting forever.
      call.on("cancelled", () => call.destroy());
      let upload: DebuginfoUpload | undefined;
      let buildId = "";
      let timedOut = false;
      const timer = deps.uploadTimeoutMs
        ? setTimeout(() => {
            timedOut = true;
            call.destroy();
          }, deps.uploadTimeoutMs)
        : undefined;
      (async () => {
        for await (const request of call as AsyncIterable<Received<UploadRequest>>) {
          const data = request.message.data;
          if (!upload) {
            if (data.case !== "info") {
              throw invalidArgument(
                "The first Upload message must carry the upload info.",
                "upload_info_missing",
              );
            }
            buildId = data.value.buildId;
            upload = await store.openUpload({
              projectId,
              buildId,
              uploadId: data.value.uploadId,
              type: debuginfoTypeFromWire(data.value.type),
            });
          } else if (data.case === "chunkData") {
            await upload.write(data.value);
          } else {
            throw invalidArgument(
              "After the upload info, Upload messages must carry chunk data.",
              "upload_chunk_missing",
            );
          }
        }
        if (!upload)
          throw invalidArgument("The Upload stream ended before the upload info.", "upload_info_missing");
        const { size } = await upload.finish();
        deps.onUpload?.("ok", size);
        return create(UploadResponseSchema, { buildId, size: BigInt(size) });
      })().then(
        (response) => {
          clearTimeout(timer);
          callback(null, response);
        },
        async (caught: unknown) => {
          clearTimeout(timer);
          if (call.cancelled && !timedOut) {
            // The agent went away (a restart, a dropped connection): nothing failed here, and
            // nobody is left to answer.
            await upload?.abort().catch(() => {});
            deps.onUpload?.("cancelled", 0);
            return;
          }
          const error = timedOut
            ? new DomainError(
                "deadline_exceeded",
                "The Upload took longer than the gateway allows; retry it.",
                "upload_timeout",
              )
            : caught;
          await upload?.abort().catch(() => {});
          const described = describeError(error);
          deps.onUpload?.(described.cause === undefined ? "rejected" : "failed", 0);
          deps.onRejected?.("Upload", described.reason);
          callback(asCallError(error));
        },
      );
    },
  };
}
