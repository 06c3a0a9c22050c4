import { DomainError } from "../../errors.js";
import type { FailedAuthPort } from "../../auth/auth-decision.js";
import { PeerStrikes, type PeerStrikesOptions } from "./peer-strikes.js";

export type FailedAuthLimiterOptions = PeerStrikesOptions;

/**
 * Limits failed authentications per client address: after `burst` failures within a cool-down
 * period, further calls from that address whose token is not already known to be valid are
 * refused without asking the store, until the cool-down has passed. Token guessing and
 * misconfigured fleets cost the store at most `burst` lookups per address per cool-down.
 */
export class FailedAuthLimiter implements FailedAuthPort {
  private readonly strikes: PeerStrikes;

  constructor(options: FailedAuthLimiterOptions) {
    this.strikes = new PeerStrikes(options);
  }

  get enabled(): boolean {
    return this.strikes.enabled;
  }

  /** Throws RESOURCE_EXHAUSTED when `address` is cooling down. */
  check(address: string): void {
    const left = this.strikes.coolingFor(address);
    if (left > 0) {
      const { burst, cooldownMs } = this.strikes.options;
      throw new DomainError(
        "resource_exhausted",
        `Too many failed authentications from this address (limit ${burst} per ${cooldownMs / 1000}s); retry in ${Math.ceil(left / 1000)}s with a valid token.`,
        "too_many_failures",
      );
    }
  }

  /** Counts a failed authentication from `address`. */
  fail(address: string): void {
    this.strikes.strike(address);
  }
}
