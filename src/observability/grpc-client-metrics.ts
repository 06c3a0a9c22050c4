import { type CounterChild, counterChild, histogramChild } from "./metric-children.js";
import type { UpstreamCallObserver } from "../upstream/upstream-client.js";
import { grpcCodeName } from "./metric-labels.js";
import type { GrpcServerMetrics } from "./metrics.js";

/**
 * go-grpc-prometheus's client metrics (`grpc_client_*`) for the calls made to the upstream:
 * label children resolved once per method, and per code on first use.
 */
export function grpcClientMetrics(metrics: GrpcServerMetrics): UpstreamCallObserver {
  return {
    forMethod(path, type) {
      const slash = path.lastIndexOf("/");
      const labels = {
        grpc_type: type,
        grpc_service: path.slice(1, slash),
        grpc_method: path.slice(slash + 1),
      };
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
    },
  };
}
