import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import { notFound } from "../errors.js";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckResponse_ServingStatus as Wire,
} from "../gen/grpc/health/v1/health_pb.js";
import { asCallError } from "../rpc/call-error.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { serviceDefinition } from "../rpc/service-definition.js";
import type { HealthStatus, ServingStatus } from "./health-status.js";

const WIRE: Record<ServingStatus, Wire> = { SERVING: Wire.SERVING, NOT_SERVING: Wire.NOT_SERVING };

/**
 * `grpc.health.v1.Health` backed by `health`, as the standard health-checking protocol says:
 * Check answers a known service's status and NOT_FOUND for an unknown one; Watch sends the
 * current status (SERVICE_UNKNOWN while unknown) and then every change until the client
 * cancels. Once `health` shuts down, Watch sends NOT_SERVING and ends the stream with OK, so
 * that open watches do not hold up the server's graceful shutdown.
 */
export function healthService(health: HealthStatus): ServiceBinding {
  return {
    definition: serviceDefinition(Health),
    implementation: {
      check(call: ServerUnaryCall<HealthCheckRequest, unknown>, callback: sendUnaryData<unknown>) {
        const current = health.get(call.request.service);
        if (current === undefined) {
          callback(asCallError(notFound("unknown service")));
          return;
        }
        callback(null, { status: WIRE[current] });
      },

      watch(call: ServerWritableStream<HealthCheckRequest, unknown>) {
        const service = call.request.service;
        let last: Wire | undefined;
        const send = (value: Wire) => {
          if (value === last) return;
          last = value;
          call.write({ status: value });
        };
        const stop = health.watch(service, (current) => {
          send(WIRE[current]);
          if (health.shuttingDown) finish();
        });
        function finish() {
          stop();
          call.end();
        }
        call.on("cancelled", stop);
        const current = health.get(service);
        send(current === undefined ? Wire.SERVICE_UNKNOWN : WIRE[current]);
        if (health.shuttingDown) finish();
      },
    },
  };
}
