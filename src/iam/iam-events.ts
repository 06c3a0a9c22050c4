/**
 * An IAM change that can alter what an already-authenticated token may do. Caches of
 * principals evict on these; with a shared store they travel between replicas.
 */
export type IamChange =
  | { kind: "token-deleted"; tokenHash: string }
  | { kind: "service-account-changed"; serviceAccountId: string }
  | { kind: "project-deleted"; projectId: string }
  /** A project's settings (rate limits) changed: re-read it. */
  | { kind: "project-changed"; projectId: string }
  /** Changes may have been missed (a lost connection): re-read every cached entry before using it. */
  | { kind: "everything" };

/** Where a change came from: this process, or another replica through the shared store. */
export type ChangeOrigin = "local" | "remote";

type Listener = (change: IamChange, origin: ChangeOrigin) => void;

/** Where the IAM service announces changes. Listeners run synchronously, in order. */
export class IamEvents {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(change: IamChange, origin: ChangeOrigin = "local"): void {
    for (const listener of this.listeners) listener(change, origin);
  }
}
