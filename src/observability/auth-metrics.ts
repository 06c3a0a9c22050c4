import { type CounterChild, counterChild, histogramChild } from "./metric-children.js";
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
  // Label children resolved once: a call only adds.
  const allowed = counterChild(metrics.decisions, { result: "allowed", reason: "allowed" });
  const decisionSeconds = histogramChild(metrics.decisionSeconds, {});
  const denied = new Map<string, CounterChild>();
  const deniedFor = (raw: string) => {
    const label = authReasonLabel(raw);
    const reason = label === "allowed" ? "internal" : label;
    let child = denied.get(reason);
    if (!child) {
      child = counterChild(metrics.decisions, { result: "denied", reason });
      denied.set(reason, child);
    }
    return child;
  };
  const events = new Map<CacheEvent, CounterChild>();
  return {
    onDecision(decision) {
      (decision.allowed ? allowed : deniedFor(decision.reason)).inc();
      decisionSeconds.observe(decision.seconds);
    },
    onCacheEvent(event) {
      let child = events.get(event);
      if (!child) {
        child = counterChild(metrics.cacheEvents, { event });
        events.set(event, child);
      }
      child.inc();
    },
  };
}
