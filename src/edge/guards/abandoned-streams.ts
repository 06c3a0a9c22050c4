import { PeerStrikes } from "../auth/peer-strikes.js";
import { peerAddress } from "../iam/cidr.js";
import type { CallEndInfo } from "../observability/grpc-metrics-interceptor.js";

export interface AbandonedStreamGuardOptions {
  /** Abandoned streams one address may cause per `cooldownMs`; 0 disables the guard. */
  burst: number;
  cooldownMs: number;
  /** Closes every connection from `address`; returns how many were open. */
  cutOff(address: string): number;
  /** Told once per cool-down that starts. */
  onCutOff?(address: string, closedConnections: number): void;
  /**
   * Whether the call had passed authentication, so that its message was being read. A call still
   * waiting for the IAM store has not been read yet: the client's message may be waiting too.
   */
  authorized(call: Pick<CallEndInfo, "metadata">): boolean;
  /** What counts as one client (default `clientGroup`: IPv4 alone, IPv6 by /64). */
  groupOf?: (address: string) => string;
  now?: () => number;
}

/**
 * Stops a client address that opens streams and abandons them. Opening a stream costs the
 * gateway's event loop about 100 µs before the first byte of a message, so thousands of streams
 * opened with valid headers and dropped again stall every other client's calls. A stream the
 * client ends (`CallEndInfo.abandoned`: cancelled, dropped or out of time) while the gateway was
 * reading it, authorized, and before its first message, is a strike against its address; `burst` strikes
 * within a cool-down close every connection from that address and refuse its new connections
 * at accept until the cool-down ends. Agents do not do this: their calls send a message first,
 * and an agent that restarts abandons a handful of streams at most.
 */
export class AbandonedStreamGuard {
  private readonly strikes: PeerStrikes;

  constructor(private readonly options: AbandonedStreamGuardOptions) {
    this.strikes = new PeerStrikes(options);
  }

  /** Whether a new connection from `address` is refused: it is cooling down. */
  refuses(address: string): boolean {
    return this.strikes.coolingFor(address) > 0;
  }

  /** Counts `call` when the client abandoned it; cuts its address off at the burst. */
  observe(call: Pick<CallEndInfo, "abandoned" | "peer" | "metadata">): void {
    if (!call.abandoned || call.peer === "" || !this.options.authorized(call)) return;
    const address = peerAddress(call.peer);
    if (!this.strikes.strike(address)) return;
    const closed = this.options.cutOff(address);
    this.options.onCutOff?.(address, closed);
  }
}
