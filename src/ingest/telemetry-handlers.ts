import { create } from "@bufbuild/protobuf";
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import {
  type ReportPanicRequest,
  ReportPanicResponseSchema,
} from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import type { Received } from "../rpc/service-definition.js";
import { asCallError } from "../rpc/call-error.js";
import { redactedTail } from "../token/redact.js";
import type { IngestDeps } from "./ingest-deps.js";
import { recordOrigin } from "../record-log/record.js";

const STDERR_LOGGED = 4096;

/** TelemetryService: a crashed agent's report is logged for the operator and stored. */
export function telemetryHandlers(deps: IngestDeps): UntypedServiceImplementation {
  return {
    reportPanic(
      call: ServerUnaryCall<Received<ReportPanicRequest>, unknown>,
      callback: sendUnaryData<unknown>,
    ) {
      const auth = authContextOf(call);
      const { stderr, metadata } = call.request.message;
      deps.log.warn(
        {
          organizationId: auth.organizationId,
          projectId: auth.projectId,
          serviceAccountId: auth.serviceAccountId,
          agent: metadata,
          stderr: redactedTail(stderr, STDERR_LOGGED),
        },
        "agent reported a panic",
      );
      deps.sink
        .append({
          ...recordOrigin(auth),
          receivedAt: deps.now(),
          method: "ReportPanic",
          payloads: [call.request.raw],
        })
        .then(
          () => callback(null, create(ReportPanicResponseSchema)),
          (error: unknown) => callback(asCallError(error)),
        );
    },
  };
}
