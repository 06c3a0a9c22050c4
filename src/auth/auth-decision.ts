import type { Metadata } from "@grpc/grpc-js";
import { DomainError } from "../errors.js";
import { peerAddress } from "../iam/cidr.js";
import { hashToken } from "../token/token.js";
import type { AuthInterceptorOptions, MethodPolicy } from "./auth-interceptor.js";
import type { Authenticator, ProjectInfo } from "./authenticator.js";
import { deny, parseBearerToken, parseProjectId } from "./credentials.js";
import type { AuthContext, Principal } from "./principal.js";

/** More metadata entries than any agent sends: refused before looking at them. */
const MAX_METADATA_ENTRIES = 64;

/**
 * The interceptor's decision on one call from its metadata and peer address (`host:port`, or a
 * function that reads it, called only when needed): the caller's context, or a DomainError
 * with the reason it was refused. When the token and the project are cached, as for nearly
 * every call, the decision is made at once, without a promise; otherwise it is a promise.
 */
export function decide(
  options: Pick<AuthInterceptorOptions, "authenticator" | "failedAuth">,
  policy: MethodPolicy,
  metadata: Metadata,
  peer: string | (() => string),
): AuthContext | Promise<AuthContext> {
  if (Object.keys(metadata.getMap()).length > MAX_METADATA_ENTRIES) {
    throw deny(
      "invalid_argument",
      "too_much_metadata",
      `A call may carry at most ${MAX_METADATA_ENTRIES} metadata entries.`,
    );
  }
  const token = parseBearerToken(first(metadata, "authorization"));
  const projectId = policy.project ? parseProjectId(first(metadata, "projectid")) : "";
  const { authenticator, failedAuth } = options;
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
  } else if (failedAuth?.enabled) {
    failedAuth.check(addressOf());
  }
  return decideFromStore(options, policy, token, tokenHash, projectId, addressOf, principal);
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
  options: Pick<AuthInterceptorOptions, "authenticator" | "failedAuth">,
  policy: MethodPolicy,
  token: string,
  tokenHash: string,
  projectId: string,
  addressOf: () => string,
  known: Principal | undefined,
): Promise<AuthContext> {
  const { authenticator, failedAuth } = options;
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

function first(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}
