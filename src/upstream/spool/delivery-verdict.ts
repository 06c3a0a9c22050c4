import { status } from "@grpc/grpc-js";

/** What the drainer does with a spooled record after one delivery attempt. */
export type Verdict = "delivered" | "retry" | "dead-letter";

/** INTERNAL or UNKNOWN this many times in a row: the record itself is taken to be the problem. */
export const POISON_ATTEMPTS = 5;

/** Statuses saying the request itself is wrong: retrying the same bytes cannot succeed. */
const REFUSED: ReadonlySet<status> = new Set([
  status.INVALID_ARGUMENT,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.UNIMPLEMENTED,
  status.DATA_LOSS,
]);

/**
 * The delivery rule of the spool:
 * - OK: delivered.
 * - A status saying the request is wrong (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE,
 *   NOT_FOUND, ALREADY_EXISTS, UNIMPLEMENTED, DATA_LOSS): dead letter at once.
 * - INTERNAL or UNKNOWN: retried, then dead letter after {@link POISON_ATTEMPTS} attempts, so a
 *   record that crashes the upstream does not block its project forever.
 * - Everything else is retried with backoff for as long as it takes: transport failures,
 *   UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, CANCELLED, and also
 *   UNAUTHENTICATED and PERMISSION_DENIED, which say the gateway's own credential or pinned
 *   project is wrong, not the record: the records were acknowledged to agents and wait until
 *   an operator fixes the configuration (the spool's bound makes new writes fail meanwhile).
 */
export function deliveryVerdict(outcome: { code: status; transport: boolean }, attempts: number): Verdict {
  if (outcome.code === status.OK) return "delivered";
  if (outcome.transport) return "retry";
  if (REFUSED.has(outcome.code)) return "dead-letter";
  if (outcome.code === status.INTERNAL || outcome.code === status.UNKNOWN) {
    return attempts >= POISON_ATTEMPTS ? "dead-letter" : "retry";
  }
  return "retry";
}
