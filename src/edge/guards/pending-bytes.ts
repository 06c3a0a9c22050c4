/** Bounds on the bytes of messages received but not complete, that no handler has seen yet. */
export interface PendingBounds {
  /** Per connection; 0: no bound. */
  perConnectionBytes: number;
  /** Per client address (its group: IPv6 by /64); 0: no bound. */
  perAddressBytes: number;
  /** For the whole process; 0: no bound. */
  totalBytes: number;
}

/** Which bound a call would pass. */
export type PendingBound = "connection" | "address" | "total";

/** One call's share. */
export interface PendingEntry {
  readonly connection: string;
  readonly address: string;
  bytes: number;
}

/**
 * Counts the bytes grpc-js buffers for messages still arriving, per connection, per client
 * address and in all, so that clients that announce large messages and send them slowly (or
 * never finish them) cannot make the gateway hold more than the bounds: the edge refuses the
 * call whose next bytes would pass one, and its bytes are released.
 */
export class PendingBytes {
  private readonly connections = new Map<string, number>();
  private readonly addresses = new Map<string, number>();
  private total = 0;

  constructor(readonly bounds: PendingBounds) {}

  get enabled(): boolean {
    const { perConnectionBytes, perAddressBytes, totalBytes } = this.bounds;
    return perConnectionBytes > 0 || perAddressBytes > 0 || totalBytes > 0;
  }

  /** Bytes pending now, in all. */
  get pending(): number {
    return this.total;
  }

  entry(connection: string, address: string): PendingEntry {
    return { connection, address, bytes: 0 };
  }

  /**
   * Records that `entry` now has `bytes` pending. Returns the bound that this passes (the entry
   * is then released), or undefined.
   */
  update(entry: PendingEntry, bytes: number): PendingBound | undefined {
    const delta = bytes - entry.bytes;
    if (delta === 0) return undefined;
    const connection = (this.connections.get(entry.connection) ?? 0) + delta;
    const address = (this.addresses.get(entry.address) ?? 0) + delta;
    const total = this.total + delta;
    const { perConnectionBytes, perAddressBytes, totalBytes } = this.bounds;
    let passed: PendingBound | undefined;
    if (delta > 0) {
      if (totalBytes > 0 && total > totalBytes) passed = "total";
      else if (perAddressBytes > 0 && address > perAddressBytes) passed = "address";
      else if (perConnectionBytes > 0 && connection > perConnectionBytes) passed = "connection";
    }
    if (passed) {
      this.release(entry);
      return passed;
    }
    entry.bytes = bytes;
    this.set(this.connections, entry.connection, connection);
    this.set(this.addresses, entry.address, address);
    this.total = total;
    return undefined;
  }

  /** Forgets `entry`'s bytes (its call completed its message or ended). */
  release(entry: PendingEntry): void {
    if (entry.bytes === 0) return;
    this.set(this.connections, entry.connection, (this.connections.get(entry.connection) ?? 0) - entry.bytes);
    this.set(this.addresses, entry.address, (this.addresses.get(entry.address) ?? 0) - entry.bytes);
    this.total -= entry.bytes;
    entry.bytes = 0;
  }

  private set(map: Map<string, number>, key: string, value: number): void {
    if (value <= 0) map.delete(key);
    else map.set(key, value);
  }
}
