import type { status } from "@grpc/grpc-js";
import { type CounterChild, counterChild, histogramChild } from "./metric-children.js";
import { grpcCodeName } from "./metric-labels.js";
import type { GrpcServerMetrics } from "./metrics.js";

/** One method's go-grpc-prometheus series (server or client side), resolved once. */
export interface GrpcMethodSeries {
  started(): void;
  received(): void;
  sent(): void;
  /** Handled with `code` (its series resolved on first use), and the handling seconds. */
  ended(code: status, seconds: number): void;
}

export function grpcMethodSeries(
  metrics: GrpcServerMetrics,
  labels: { grpc_type: string; grpc_service: string; grpc_method: string },
): GrpcMethodSeries {
  const started = counterChild(metrics.started, labels);
  const received = counterChild(metrics.msgReceived, labels);
  const sent = counterChild(metrics.msgSent, labels);
  const handling = histogramChild(metrics.handlingSeconds, labels);
  const handled: Array<CounterChild | undefined> = [];
  return {
    started: () => started.inc(),
    received: () => received.inc(),
    sent: () => sent.inc(),
    ended(code, seconds) {
      let child = handled[code];
      if (child === undefined) {
        child = counterChild(metrics.handled, { ...labels, grpc_code: grpcCodeName(code) });
        handled[code] = child;
      }
      child.inc();
      handling.observe(seconds);
    },
  };
}
