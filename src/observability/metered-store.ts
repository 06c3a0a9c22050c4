import type { IamStore } from "../iam/store/iam-store.js";
import type { ProfgateMetrics } from "./metrics.js";

/**
 * The IAM store with every operation timed into `profgate_store_command_seconds{operation}`,
 * and its availability exported as `profgate_store_up` and `profgate_store_reconnects_total`.
 */
export function meteredStore(inner: IamStore, metrics: ProfgateMetrics["store"]): IamStore {
  metrics.up.set(1);
  inner.onAvailabilityChange?.((available) => {
    metrics.up.set(available ? 1 : 0);
    if (available) metrics.reconnects.inc();
  });
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close" || property === "onAvailabilityChange") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      const operation = String(property);
      return (...args: unknown[]) => {
        const end = metrics.commandSeconds.startTimer({ operation });
        const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return result.finally(end);
      };
    },
  });
}
