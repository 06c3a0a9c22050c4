import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import { describeError } from "../errors.js";
import { recordOrigin } from "../record-log/record.js";
import { asCallError } from "../rpc/call-error.js";
import { rawServiceDefinition } from "../rpc/raw-service-definition.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import type { IngestDeps } from "./ingest-deps.js";
import { OTLP_SIGNALS, type OtlpSignal } from "../rpc/otlp-signals.js";
import { validateEnvelope } from "./otlp/validate-envelope.js";

/** Every Export*ServiceResponse without partial_success: zero bytes. */
const EMPTY_RESPONSE = Buffer.alloc(0);

/**
 * One signal's Export: the request (decompressed by the transport) is checked to be a
 * well-formed envelope, stored as received, and answered with the empty response once durable.
 * Nothing is decoded below the envelope, nor re-encoded.
 */
function exportHandler(deps: IngestDeps, signal: OtlpSignal) {
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    storeOtlp(deps, signal, authContextOf(call), call.request, deps.now()).then(
      () => callback(null, EMPTY_RESPONSE),
      (error: unknown) => callback(asCallError(error)),
    );
  };
}

/**
 * Checks an OTLP Export request's envelope and stores it as received; resolves once durable.
 * Shared by the gRPC services and the OTLP/HTTP listener.
 */
export async function storeOtlp(
  deps: IngestDeps,
  signal: OtlpSignal,
  auth: AuthContext,
  request: Uint8Array,
  receivedAt: number,
): Promise<void> {
  try {
    validateEnvelope(signal.envelope, request);
    await deps.sink.append({ ...recordOrigin(auth), receivedAt, method: signal.method, payloads: [request] });
  } catch (error) {
    deps.onRejected?.(signal.method, describeError(error).reason);
    throw error;
  }
}

/** The four OTLP Export services, storing locally; the bytes in and out are the wire's. */
export function otlpServices(deps: IngestDeps): ServiceBinding[] {
  return OTLP_SIGNALS.map((signal) => ({
    definition: rawServiceDefinition(signal.service),
    implementation: { export: exportHandler(deps, signal) },
  }));
}
