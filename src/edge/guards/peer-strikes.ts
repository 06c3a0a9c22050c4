import { clientGroup } from "../../iam/cidr.js";
import { TtlCache } from "../../auth/ttl-cache.js";

interface PeerRecord {
  count: number;
  windowEndsAt: number;
  blockedUntil: number;
}

export interface PeerStrikesOptions {
  /** Strikes one address may collect per `cooldownMs` before it cools down; 0 disables. */
  burst: number;
  /** The counting window, and how long an address cools down once it reached `burst`. */
  cooldownMs: number;
  now?: () => number;
  /** Addresses remembered at once; the least recently struck are forgotten first. */
  maxPeers?: number;
  /** What counts as one client (default `clientGroup`: IPv4 addresses alone, IPv6 by /64). */
  groupOf?: (address: string) => string;
}

/**
 * Counts misbehaviour per client address (per `groupOf`, by default an IPv6 /64): `burst` strikes
 * within a window put the address in a cool-down for `cooldownMs`. What a strike is, and what a
 * cool-down refuses, is the caller's.
 */
export class PeerStrikes {
  private readonly peers: TtlCache<string, PeerRecord>;
  private readonly now: () => number;
  private readonly groupOf: (address: string) => string;

  constructor(readonly options: PeerStrikesOptions) {
    this.now = options.now ?? Date.now;
    this.groupOf = options.groupOf ?? ((address) => clientGroup(address));
    this.peers = new TtlCache(options.maxPeers ?? 100_000, this.now);
  }

  get enabled(): boolean {
    return this.options.burst > 0;
  }

  /** Milliseconds left of `address`'s cool-down; 0 when it is not cooling down. */
  coolingFor(address: string): number {
    if (!this.enabled) return 0;
    const peer = this.peers.get(this.groupOf(address));
    return peer ? Math.max(0, peer.blockedUntil - this.now()) : 0;
  }

  /** Counts a strike against `address`; true when this strike started its cool-down. */
  strike(address: string): boolean {
    if (!this.enabled) return false;
    const now = this.now();
    const key = this.groupOf(address);
    let peer = this.peers.get(key);
    if (!peer) {
      peer = { count: 0, windowEndsAt: now + this.options.cooldownMs, blockedUntil: 0 };
    } else if (peer.windowEndsAt <= now) {
      // A new window; a cool-down in force runs to its end.
      peer.count = 0;
      peer.windowEndsAt = now + this.options.cooldownMs;
    }
    peer.count++;
    const started = peer.count >= this.options.burst && peer.blockedUntil <= now;
    if (started) peer.blockedUntil = now + this.options.cooldownMs;
    this.peers.set(key, peer, Math.max(peer.windowEndsAt, peer.blockedUntil) - now);
    return started;
  }
}
