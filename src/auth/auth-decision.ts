import { DomainError } from "../errors.js";
import { peerAddress } from "../iam/cidr.js";
import { hashToken } from "../token/token.js";
import type { Authenticator, ProjectInfo } from "./authenticator.js";
import { deny, parseBearerToken, parseProjectId } from "./credentials.js";
import type { MethodPolicy } from "./method-policies.js";
import type { AuthContext, Principal } from "./principal.js";

/** More metadata entries than any agent sends: refused before looking at them. */
export const MAX_METADATA_ENTRIES = 64;

/** What a call presents, whatever its transport (gRPC metadata, HTTP headers). */
export interface CallCredentials {
  /** The `authorization` value. */
  authorization: string | undefined;
  /** The `projectid` value. */
  projectId: string | undefined;
  /** How many metadata entries (headers) the call carries. */
  entries: number;
}

/** Per-address limiting of failed authentications, as the decision consults it. */
export interface FailedAuthPort {
  readonly enabled: boolean;
  /** Throws RESOURCE_EXHAUSTED while `address` is cooling down. */
  check(address: string): void;
  /** Counts a failed authentication from `address`. */
  fail(address: string): void;
}

/** What a decision consults: the authenticator (cached IAM) and, optionally, the failed-auth limiter. */
export interface DecisionDeps {
  authenticator: Authenticator;
  failedAuth?: FailedAuthPort | undefined;
}

/**
 * The decision on one call from what it presents and its peer address (`host:port`, or a
 * function that reads it, called only when needed): the caller's context, or a DomainError with
 * the reason it was refused (docs/iam-model.md). When the token and the project are cached, as
 * for nearly every call, the decision is made at once, without a promise; otherwise it is a
 * promise. The same decision serves the gRPC edge and the console's API. The failed-auth
 * limiter refuses only tokens not known to be valid: a cooling-down address (a NAT shared with a
 * misconfigured neighbour) keeps using the tokens that were valid when last looked up.
 */
export function decide(
  deps: DecisionDeps,
  policy: MethodPolicy,
  credentials: CallCredentials,
  peer: string | (() => string),
): AuthContext | Promise<AuthContext> {
  if (credentials.entries > MAX_METADATA_ENTRIES) {
    throw deny(
      "invalid_argument",
      "too_much_metadata",
      `A call may carry at most ${MAX_METADATA_ENTRIES} metadata entries.`,
    );
  }
  const token = parseBearerToken(credentials.authorization);
  const projectId = policy.project ? parseProjectId(credentials.projectId) : "";
  const { authenticator, failedAuth } = deps;
  const tokenHash = hashToken(token);
  let address: string | undefined;
  const addressOf = () => {
    address ??= peerAddress(typeof peer === "string" ? peer : peer());
    return address;
  };
  let principal: Principal | undefined;
  try {
    principal = authenticator.principalNow(tokenHash);
  } catch (error) {
    // Cached as unknown (or expired): a cooling-down address hears that first, as when uncached.
    if (failedAuth?.enabled) {
      failedAuth.check(addressOf());
      failedAuth.fail(addressOf());
    }
    throw error;
  }
  if (principal) {
    const project = wantsProject(policy) ? authenticator.projectNow(projectId) : null;
    if (project !== undefined)
      return allowedContext(authenticator, policy, principal, projectId, project, addressOf);
  } else if (failedAuth?.enabled && !authenticator.wasValid(tokenHash)) {
    // A token valid when last looked up is no guess: a neighbour's junk must not lock it out.
    failedAuth.check(addressOf());
  }
  return decideFromStore(deps, policy, token, tokenHash, projectId, addressOf, principal);
}

/** The end of a decision, once principal and project are known; throws when refused. */
function allowedContext(
  authenticator: Authenticator,
  policy: MethodPolicy,
  principal: Principal,
  projectId: string,
  project: ProjectInfo | null,
  addressOf: () => string,
): AuthContext {
  if (principal.allowedFrom) authenticator.checkAddress(principal, addressOf());
  let limits: ProjectInfo["limits"];
  if (policy.permission !== undefined) {
    authenticator.checkGrant(principal, policy.permission, policy.project ? projectId : undefined);
    if (policy.project)
      limits = authenticator.checkProject(principal, policy.permission, projectId, project).limits;
  }
  return { ...principal, projectId, projectLimits: limits };
}

/**
 * The decision when the token (unless `known`) or the project must be read from the store: both
 * lookups at once.
 */
async function decideFromStore(
  deps: DecisionDeps,
  policy: MethodPolicy,
  token: string,
  tokenHash: string,
  projectId: string,
  addressOf: () => string,
  known: Principal | undefined,
): Promise<AuthContext> {
  const { authenticator, failedAuth } = deps;
  const lookup = wantsProject(policy) ? authenticator.project(projectId) : undefined;
  lookup?.catch(() => {});
  let principal: Principal;
  try {
    principal = known ?? (await authenticator.principal(token, tokenHash));
  } catch (error) {
    if (error instanceof DomainError && error.kind === "unauthenticated") failedAuth?.fail(addressOf());
    throw error;
  }
  return allowedContext(authenticator, policy, principal, projectId, lookup ? await lookup : null, addressOf);
}

/** Whether the decision needs the named project's record: to authorize a permission in it. */
function wantsProject(policy: MethodPolicy): boolean {
  return policy.project && policy.permission !== undefined;
}
