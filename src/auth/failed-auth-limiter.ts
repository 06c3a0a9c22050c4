import { DomainError } from "../errors.js";
import { TtlCache } from "./ttl-cache.js";

interface PeerFailures {
  count: number;
  windowEndsAt: number;
  blockedUntil: number;
}

export interface FailedAuthLimiterOptions {
  /** Failed authentications one address may cause per `cooldownMs`; 0 disables the limiter. */
  burst: number;
  cooldownMs: number;
  now?: () => number;
  maxPeers?: number;
}

/**
 * Limits failed authentications per client address: after `burst` failures within a cool-down
 * period, further calls from that address whose token is not already known to be valid are
 * refused without asking the store, until the cool-down has passed. Token guessing and
 * misconfigured fleets cost the store at most `burst` lookups per address per cool-down.
 */
export class FailedAuthLimiter {
  private readonly peers: TtlCache<string, PeerFailures>;
  private readonly now: () => number;

  constructor(private readonly options: FailedAuthLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.peers = new TtlCache(options.maxPeers ?? 100_000, this.now);
  }

  get enabled(): boolean {
    return this.options.burst > 0;
  }

  /** Throws RESOURCE_EXHAUSTED when `address` is cooling down. */
  check(address: string): void {
    if (!this.enabled) return;
    const peer = this.peers.get(address);
    const now = this.now();
    if (peer && peer.blockedUntil > now) {
      const seconds = Math.ceil((peer.blockedUntil - now) / 1000);
      throw new DomainError(
        "resource_exhausted",
        `Too many failed authentications from this address (limit ${this.options.burst} per ${this.options.cooldownMs / 1000}s); retry in ${seconds}s with a valid token.`,
        "too_many_failures",
      );
    }
  }

  /** Counts a failed authentication from `address`. */
  fail(address: string): void {
    if (!this.enabled) return;
    const now = this.now();
    let peer = this.peers.get(address);
    if (!peer || peer.windowEndsAt <= now) {
      peer = { count: 0, windowEndsAt: now + this.options.cooldownMs, blockedUntil: 0 };
    }
    peer.count++;
    if (peer.count >= this.options.burst) peer.blockedUntil = now + this.options.cooldownMs;
    this.peers.set(address, peer, Math.max(peer.windowEndsAt, peer.blockedUntil) - now);
  }
}
