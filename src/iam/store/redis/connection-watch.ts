import type { EventEmitter } from "node:events";

/** Whether the store can currently reach Redis. */
export type ConnectionState = "up" | "down";

const EVENTS: readonly [string, ConnectionState][] = [
  ["ready", "up"],
  ["close", "down"],
  ["reconnecting", "down"],
  ["end", "down"],
];

/**
 * Follows an ioredis client's connection events and reports each change of state once: "down"
 * when the connection (or the whole Cluster) is lost, "up" when it is ready again. Listeners run
 * synchronously; one that throws does not stop the others (its error goes to `onError`).
 */
export class ConnectionWatch {
  private state: ConnectionState;
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private readonly handlers: [string, () => void][] = [];

  constructor(
    private readonly client: EventEmitter & { status: string },
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.state = client.status === "ready" ? "up" : "down";
    for (const [event, state] of EVENTS) {
      const handler = () => this.set(state);
      client.on(event, handler);
      this.handlers.push([event, handler]);
    }
  }

  get current(): ConnectionState {
    return this.state;
  }

  /** Calls `listener` on every change from now on; returns the unsubscribe function. */
  subscribe(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops following the client and forgets the listeners. */
  detach(): void {
    for (const [event, handler] of this.handlers) this.client.off(event, handler);
    this.handlers.length = 0;
    this.listeners.clear();
  }

  private set(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
