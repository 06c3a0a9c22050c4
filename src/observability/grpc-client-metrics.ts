import type { UpstreamCallObserver } from "../upstream/upstream-client.js";
import { grpcMethodSeries } from "./grpc-method-series.js";
import type { GrpcServerMetrics } from "./metrics.js";

/**
 * go-grpc-prometheus's client metrics (`grpc_client_*`) for the calls made to the upstream,
 * series resolved once per method, and per code on first use.
 */
export function grpcClientMetrics(metrics: GrpcServerMetrics): UpstreamCallObserver {
  return {
    forMethod(path, type) {
      const slash = path.lastIndexOf("/");
      return grpcMethodSeries(metrics, {
        grpc_type: type,
        grpc_service: path.slice(1, slash),
        grpc_method: path.slice(slash + 1),
      });
    },
  };
}
