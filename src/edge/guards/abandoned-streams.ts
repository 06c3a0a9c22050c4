import { peerAddress } from "../../iam/cidr.js";
import type { CallEnd } from "../../rpc/call-events.js";
import { PeerStrikes } from "./peer-strikes.js";

export interface AbandonedStreamGuardOptions {
  /** Abandoned streams one address may cause per `cooldownMs`; 0 disables the guard. */
  burst: number;
  cooldownMs: number;
  /** What counts as one client (default `clientGroup`: IPv4 alone, IPv6 by /64). */
  groupOf?: (address: string) => string;
  now?: () => number;
}

/**
 * Stops a client address that opens streams and abandons them. Opening a stream costs the
 * gateway's event loop about 100 µs before the first byte of a message, so thousands of streams
 * opened with valid headers and dropped again stall every other client's calls. A stream the
 * client ends (`CallEnd.abandoned`: cancelled, dropped or out of time) after it passed
 * authentication, so that its message was being read, and before its first message, is a strike
 * against its address; `burst` strikes within a cool-down cut the address off (the edge closes
 * every connection from it and refuses its new connections at accept until the cool-down ends).
 * A call still waiting for the IAM store is no strike: its message may be waiting too. Agents do
 * not do this: their calls send a message first, and an agent that restarts abandons a handful
 * of streams at most.
 */
export class AbandonedStreamGuard {
  private readonly strikes: PeerStrikes;

  constructor(readonly options: AbandonedStreamGuardOptions) {
    this.strikes = new PeerStrikes(options);
  }

  /** Whether a new connection from `address` is refused: it is cooling down. */
  refuses(address: string): boolean {
    return this.strikes.coolingFor(address) > 0;
  }

  /**
   * Counts `call` when the client abandoned it; returns the address to cut off when this strike
   * started its cool-down.
   */
  strike(call: Pick<CallEnd, "abandoned" | "peer" | "caller">): string | undefined {
    if (!call.abandoned || call.peer === "" || call.caller === undefined) return undefined;
    const address = peerAddress(call.peer);
    return this.strikes.strike(address) ? address : undefined;
  }
}
