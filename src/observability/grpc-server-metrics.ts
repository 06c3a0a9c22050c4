import { type CounterChild, counterChild, histogramChild } from "./metric-children.js";
import type { CallObserver } from "../rpc/call-events.js";
import { grpcCodeName } from "./metric-labels.js";
import type { GrpcServerMetrics } from "./metrics.js";

/**
 * go-grpc-prometheus's server metrics from the edge's call events: started when a call arrives,
 * each message received and sent, and handled (with its code) plus handling seconds exactly once
 * when the call ends. Label children are resolved once per method (and per code on first use),
 * so that a call only increments.
 */
export function grpcServerMetrics(metrics: GrpcServerMetrics): CallObserver {
  return {
    forMethod(method) {
      const labels = { grpc_type: method.type, grpc_service: method.service, grpc_method: method.method };
      const started = counterChild(metrics.started, labels);
      const received = counterChild(metrics.msgReceived, labels);
      const sent = counterChild(metrics.msgSent, labels);
      const handling = histogramChild(metrics.handlingSeconds, labels);
      const handled: Array<CounterChild | undefined> = [];
      return {
        started: () => started.inc(),
        received: () => received.inc(),
        sent: () => sent.inc(),
        ended(end) {
          let child = handled[end.code];
          if (child === undefined) {
            child = counterChild(metrics.handled, { ...labels, grpc_code: grpcCodeName(end.code) });
            handled[end.code] = child;
          }
          child.inc();
          handling.observe(end.durationSeconds);
        },
      };
    },
  };
}
