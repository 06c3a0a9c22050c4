import type { HealthStatus } from "../observability/health-status.js";
import type { Destination } from "./destination.js";
import type { IamParts } from "./iam-parts.js";

/**
 * `/readyz`: ready while the IAM store is reachable, the upstream (when forwarding) is not
 * failing, JetStream (with `--sink jetstream` or `--spool jetstream`) answers, and the gateway is not shutting down. An idle upstream channel is not a failure: it
 * connects on the next call.
 */
export function readiness(iam: IamParts, destination: Destination, health: HealthStatus) {
  return () => {
    const upstream = destination.connectivity();
    const upstreamReady = upstream === undefined || !["TRANSIENT_FAILURE", "SHUTDOWN"].includes(upstream);
    const storeReady = iam.available();
    const jetstream = destination.jetstream();
    return {
      ready: storeReady && upstreamReady && jetstream !== false && !health.shuttingDown,
      checks: {
        store: storeReady ? "ok" : "unreachable",
        ...(upstream !== undefined ? { upstream } : {}),
        ...(jetstream !== undefined ? { jetstream: jetstream ? "ok" : "unreachable" } : {}),
        shuttingDown: health.shuttingDown,
      },
    };
  };
}
