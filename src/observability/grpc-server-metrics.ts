import type { CallObserver } from "../rpc/call-events.js";
import { grpcMethodSeries } from "./grpc-method-series.js";
import type { GrpcServerMetrics } from "./metrics.js";

/**
 * go-grpc-prometheus's server metrics from the edge's call events: started when a call arrives,
 * each message received and sent, and handled (with its code) plus handling seconds exactly once
 * when the call ends. Series are resolved once per method (and per code on first use), so that a
 * call only adds.
 */
export function grpcServerMetrics(metrics: GrpcServerMetrics): CallObserver {
  return {
    forMethod(method) {
      const series = grpcMethodSeries(metrics, {
        grpc_type: method.type,
        grpc_service: method.service,
        grpc_method: method.method,
      });
      return {
        started: series.started,
        received: series.received,
        sent: series.sent,
        ended: (end) => series.ended(end.code, end.durationSeconds),
      };
    },
  };
}
