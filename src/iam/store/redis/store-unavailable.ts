import { DomainError, unavailable } from "../../../errors.js";

/** Redis replies that say "not now" rather than "wrong": the same call can succeed a bit later. */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS)\b/;

const PROGRAMMING_ERRORS = [TypeError, SyntaxError, RangeError, ReferenceError];

/**
 * What a failed Redis call becomes for the store's caller: DomainErrors pass through; a lost or
 * refused connection, a timeout or a transient reply becomes an `unavailable` DomainError (the
 * auth cache then serves stale decisions, the admin API answers UNAVAILABLE) with the original
 * error as `cause` for the log; any other Redis reply, and a programming error (TypeError,
 * SyntaxError of a corrupt record, ...), stays as it is: an internal error, not a transient one.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof DomainError || PROGRAMMING_ERRORS.some((type) => error instanceof type)) return error;
  if (error instanceof Error && error.name === "ReplyError" && !TRANSIENT_REPLIES.test(error.message)) {
    return error;
  }
  const wrapped = unavailable(
    "The IAM store (Redis) is unreachable; this is transient, retry shortly.",
    "store_unavailable",
  );
  wrapped.cause = error;
  return wrapped;
}
