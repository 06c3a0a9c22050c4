import { DomainError } from "../errors.js";
import { isWellFormedToken, TOKEN_FORMAT_HINT } from "../token/token.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The reasons a call is refused, a closed set used as the metric label. */
export type DenyReason =
  | "missing_token"
  | "malformed_token"
  | "unknown_token"
  | "expired_token"
  | "missing_project"
  | "malformed_project"
  | "permission_denied"
  | "address_not_allowed"
  | "too_many_failures"
  | "too_much_metadata"
  | "store_unavailable";

export const deny = (kind: DomainError["kind"], reason: DenyReason, message: string) =>
  new DomainError(kind, message, reason);

/**
 * The bearer token of an `authorization` value, checked for the psc_v1 format. The error
 * messages say how to pass a token and never echo what was sent.
 */
export function parseBearerToken(authorization: string | undefined): string {
  const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!match) {
    throw deny(
      "unauthenticated",
      "missing_token",
      "Missing credentials: send 'authorization: Bearer <token>' metadata (parca-agent: --remote-store-bearer-token-file=<file>).",
    );
  }
  const token = match[1]!;
  if (!isWellFormedToken(token)) {
    throw deny(
      "unauthenticated",
      "malformed_token",
      `Malformed token: expected ${TOKEN_FORMAT_HINT}; check the token file.`,
    );
  }
  return token;
}

/** The project a call is for, from the `projectid` metadata, normalized to lowercase. */
export function parseProjectId(value: string | undefined): string {
  if (value === undefined || value === "") {
    throw deny(
      "invalid_argument",
      "missing_project",
      "Missing project: pass --remote-store-grpc-headers=projectID=<uuid> so that every call carries 'projectid' metadata.",
    );
  }
  if (!UUID.test(value)) {
    throw deny(
      "invalid_argument",
      "malformed_project",
      "Malformed project ID: 'projectid' metadata must be a UUID; pass --remote-store-grpc-headers=projectID=<uuid>.",
    );
  }
  return value.toLowerCase();
}
