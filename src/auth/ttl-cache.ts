interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A bounded map whose entries expire. When full, the least recently written entry goes
 * first. Reading an expired entry returns nothing; `getStale` still returns it with its age,
 * for serving within a stale window when the source of truth is unreachable.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) return undefined;
    return entry.value;
  }

  /** The entry even if expired, with how long ago it expired (0 when still fresh). */
  getStale(key: K): { value: V; expiredFor: number } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    return { value: entry.value, expiredFor: Math.max(0, this.now() - entry.expiresAt) };
  }

  set(key: K, value: V, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  deleteWhere(predicate: (value: V, key: K) => boolean): void {
    for (const [key, entry] of this.entries) if (predicate(entry.value, key)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Ends every entry's lifetime now: each must be read again, but stays available to `getStale`. */
  expireAll(): void {
    const now = this.now();
    for (const entry of this.entries.values()) entry.expiresAt = Math.min(entry.expiresAt, now);
  }

  get size(): number {
    return this.entries.size;
  }
}
