import type { AuthDecision } from "../auth/method-policies.js";
import type { CacheEvent } from "../auth/authenticator.js";
import { authReasonLabel } from "./metric-labels.js";
import type { ProfgateMetrics } from "./metrics.js";

/**
 * The auth hooks that feed the auth metrics: pass `onDecision` to the edge and
 * `onCacheEvent` to `Authenticator`. A reason outside the closed set counts as `internal`.
 */
export function authMetricsHooks(metrics: ProfgateMetrics["auth"]): {
  onDecision: (decision: AuthDecision) => void;
  onCacheEvent: (event: CacheEvent) => void;
} {
  // Label children resolved once: prom-client hashes a label set on every call otherwise.
  const allowed = metrics.decisions.labels({ result: "allowed", reason: "allowed" });
  const denied = new Map<string, ReturnType<typeof metrics.decisions.labels>>();
  const deniedFor = (raw: string) => {
    const label = authReasonLabel(raw);
    const reason = label === "allowed" ? "internal" : label;
    let child = denied.get(reason);
    if (!child) {
      child = metrics.decisions.labels({ result: "denied", reason });
      denied.set(reason, child);
    }
    return child;
  };
  const events = new Map<CacheEvent, ReturnType<typeof metrics.cacheEvents.labels>>();
  return {
    onDecision(decision) {
      (decision.allowed ? allowed : deniedFor(decision.reason)).inc();
      metrics.decisionSeconds.observe(decision.seconds);
    },
    onCacheEvent(event) {
      let child = events.get(event);
      if (!child) {
        child = metrics.cacheEvents.labels({ event });
        events.set(event, child);
      }
      child.inc();
    },
  };
}
