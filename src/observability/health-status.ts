/** A service's serving status; a service never set is unknown. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** Told a service's new status when it changes. */
export type HealthListener = (status: ServingStatus) => void;

/**
 * The serving status of the gateway (service "") and of individual gRPC services, with
 * listeners told of every change. After `shutdown()` everything reads NOT_SERVING and later
 * `set` calls are ignored, so that a draining gateway cannot be marked serving again.
 */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Map<string, Set<HealthListener>>();
  private down = false;

  /** Starts with the overall status ("") SERVING, unless told otherwise. */
  constructor(initial: Readonly<Record<string, ServingStatus>> = { "": "SERVING" }) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  /** Whether `shutdown()` was called. */
  get shuttingDown(): boolean {
    return this.down;
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Sets a service's status ("" = the whole gateway); listeners hear only real changes. */
  set(service: string, status: ServingStatus): void {
    if (this.down) return;
    this.update(service, status);
  }

  /** Marks every known service NOT_SERVING for good: the gateway is draining. */
  shutdown(): void {
    this.down = true;
    for (const service of [...this.statuses.keys()]) this.update(service, "NOT_SERVING");
  }

  /** Calls `listener` on every change of `service` until the returned function is called. */
  watch(service: string, listener: HealthListener): () => void {
    let set = this.listeners.get(service);
    if (!set) {
      set = new Set();
      this.listeners.set(service, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(service);
    };
  }

  private update(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    // A copy: a listener may unsubscribe while being told.
    for (const listener of [...(this.listeners.get(service) ?? [])]) listener(status);
  }
}
