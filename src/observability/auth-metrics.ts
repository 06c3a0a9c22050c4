import type { AuthDecision } from "../auth/auth-interceptor.js";
import type { CacheEvent } from "../auth/authenticator.js";
import { authReasonLabel } from "./metric-labels.js";
import type { ProfgateMetrics } from "./metrics.js";

/**
 * The auth hooks that feed the auth metrics: pass `onDecision` to `authInterceptor` and
 * `onCacheEvent` to `Authenticator`. A reason outside the closed set counts as `internal`.
 */
export function authMetricsHooks(metrics: ProfgateMetrics["auth"]): {
  onDecision: (decision: AuthDecision) => void;
  onCacheEvent: (event: CacheEvent) => void;
} {
  const events = metrics.cacheEvents;
  return {
    onDecision(decision) {
      if (decision.allowed) {
        metrics.decisions.inc({ result: "allowed", reason: "allowed" });
      } else {
        const reason = authReasonLabel(decision.reason);
        metrics.decisions.inc({ result: "denied", reason: reason === "allowed" ? "internal" : reason });
      }
      metrics.decisionSeconds.observe(decision.seconds);
    },
    onCacheEvent(event) {
      events.inc({ event });
    },
  };
}
