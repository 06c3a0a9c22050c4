import { status, type StatusObject } from "@grpc/grpc-js";
import type { PolicyTable } from "../auth/method-policies.js";
import { peerAddress } from "../iam/cidr.js";
import { limitMessageBytes, resetStream, watchPendingBytes } from "./grpc-internals.js";
import type { PendingBound, PendingBytes } from "./guards/pending-bytes.js";

/** What a call's intake may do to it: refuse it with a status (sent through the call observer). */
export type Refuse = (status: Pick<StatusObject, "code" | "details">) => void;

/**
 * Sets up one call's intake: `base` is grpc-js's base call, `peer` the client's `host:port`.
 * Returns what to call when the call has ended.
 */
export type Intake = (base: unknown, path: string, peer: string, refuse: Refuse) => (() => void) | undefined;

export interface IntakeOptions {
  policyFor: PolicyTable;
  /** The message limit of public methods (health, reflection), far below the server's. */
  publicMessageBytes: number;
  /** Bounds on incomplete messages; none: not counted. */
  pending?: PendingBytes | undefined;
  groupOf: (address: string) => string;
  /** A call refused for passing a pending bound, for metrics and logs. */
  onPendingRefused?: ((bound: PendingBound, address: string) => void) | undefined;
}

const BOUND_KEYS = {
  connection: "perConnectionBytes",
  address: "perAddressBytes",
  total: "totalBytes",
} as const;

const FLAGS: Record<PendingBound, string> = {
  connection: "--max-pending-bytes-per-connection",
  address: "--max-pending-bytes-per-client",
  total: "--max-pending-bytes",
};

/** The status of a call whose next bytes would pass `passed`, naming the bound's flag. */
function pendingRefusal(passed: PendingBound, pending: PendingBytes): Pick<StatusObject, "code" | "details"> {
  const bound = pending.bounds[BOUND_KEYS[passed]];
  return {
    code: passed === "total" ? status.UNAVAILABLE : status.RESOURCE_EXHAUSTED,
    details:
      passed === "total"
        ? `The gateway holds too many incomplete messages (limit ${bound} bytes, ${FLAGS[passed]}); retry shortly.`
        : `Too many bytes of incomplete messages from this ${passed} (limit ${bound} bytes, ${FLAGS[passed]}); finish or cancel the calls in progress, then retry.`,
  };
}

/** One call's share of the incomplete-message bounds. */
export interface PendingShare {
  /**
   * Records that the call now holds `bytes` of a message still arriving; returns the status to
   * end it with when that passes a bound (its share is then released and the hook told).
   */
  update(bytes: number): Pick<StatusObject, "code" | "details"> | undefined;
  release(): void;
}

/** The share of the call from `peer` (`host:port`); undefined while no bound is set. */
export function pendingShare(
  options: Pick<IntakeOptions, "pending" | "groupOf" | "onPendingRefused">,
  peer: string,
): PendingShare | undefined {
  const { pending } = options;
  if (!pending?.enabled) return undefined;
  const address = options.groupOf(peerAddress(peer));
  const entry = pending.entry(peer, address);
  return {
    update(bytes) {
      const passed = pending.update(entry, bytes);
      if (!passed) return undefined;
      options.onPendingRefused?.(passed, address);
      return pendingRefusal(passed, pending);
    },
    release: () => pending.release(entry),
  };
}

/**
 * Bounds what a call may make the gateway hold before its handler sees a message: the message
 * limit of its method (policy `maxMessageBytes`; public methods a few KiB), enforced at a
 * message's length prefix, and the bytes of messages still arriving, counted per connection,
 * per client address and in all (`PendingBytes`). A call whose next bytes would pass a bound
 * ends with RESOURCE_EXHAUSTED (UNAVAILABLE for the process-wide bound), naming the flag; its
 * bytes are released at once. Agents retry both.
 */
export function callIntake(options: IntakeOptions): Intake {
  const limits = new Map<string, number | undefined>();
  const limitOf = (path: string) => {
    if (limits.has(path)) return limits.get(path);
    const policy = options.policyFor(path);
    const limit = policy === "public" ? options.publicMessageBytes : policy?.maxMessageBytes;
    limits.set(path, limit);
    return limit;
  };
  return (base, path, peer, refuse) => {
    const limit = limitOf(path);
    if (limit !== undefined) limitMessageBytes(base, limit);
    const share = pendingShare(options, peer);
    if (!share) return undefined;
    let refused = false;
    watchPendingBytes(base, (bytes) => {
      if (refused) return;
      const refusal = share.update(bytes);
      if (!refusal) return;
      refused = true;
      refuse(refusal);
      // The status is out; a client that holds the stream open must not keep its bytes alive.
      setImmediate(() => resetStream(base));
    });
    return share.release;
  };
}
