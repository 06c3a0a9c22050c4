import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import { DomainError } from "../errors.js";
import { peerAddress } from "../iam/cidr.js";
import { hashToken } from "../token/token.js";
import type { Permission } from "../iam/permissions.js";
import { toStatus } from "../rpc/to-status.js";
import type { Authenticator, ProjectInfo } from "./authenticator.js";
import { deny, parseBearerToken, parseProjectId } from "./credentials.js";
import type { FailedAuthLimiter } from "./failed-auth-limiter.js";
import type { AuthContext, Principal } from "./principal.js";

/** What a method requires: a permission, and whether the call names a project. */
export interface MethodPolicy {
  /** Undefined: authentication only; the handler applies a rule that depends on the request. */
  permission?: Permission | undefined;
  /** Ingestion calls carry `projectid` and are authorized in that project. */
  project: boolean;
}

/** The outcome of one auth decision, for metrics and logs. */
export interface AuthDecision {
  path: string;
  allowed: boolean;
  reason: string;
  seconds: number;
}

export interface AuthInterceptorOptions {
  authenticator: Authenticator;
  /** Refuses addresses that failed to authenticate too often, before asking the store. */
  failedAuth?: FailedAuthLimiter;
  /** The policy of a method path; "public" skips auth (health); undefined refuses the call. */
  policyFor: (path: string) => MethodPolicy | "public" | undefined;
  onAllowed?: (context: AuthContext) => void;
  onDecision?: (decision: AuthDecision) => void;
}

const contexts = new WeakMap<Metadata, AuthContext>();

/** The authenticated caller of a call, if it passed the interceptor (for logs and metrics). */
export function findAuthContext(metadata: Metadata | undefined): AuthContext | undefined {
  return metadata ? contexts.get(metadata) : undefined;
}

/**
 * Attaches a caller to a call's metadata without checking anything, as the interceptor does for
 * an allowed call. Only for servers without the interceptor: the benchmark's no-auth baseline.
 */
export function attachAuthContext(metadata: Metadata, context: AuthContext): void {
  contexts.set(metadata, context);
}

/** The authenticated caller of a call that passed the interceptor. */
export function authContextOf(call: { metadata: Metadata }): AuthContext {
  const context = contexts.get(call.metadata);
  if (!context) throw new Error("call reached a handler without passing the auth interceptor");
  return context;
}

function first(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

/** A call that holds back reads until the auth decision: a refused call buffers no payload. */
class GatedCall extends ServerInterceptingCall {
  private open = false;
  private readWanted = false;

  override startRead(): void {
    if (this.open) super.startRead();
    else this.readWanted = true;
  }

  release(): void {
    this.open = true;
    if (this.readWanted) super.startRead();
  }
}

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
  const projectWanted = policy.project && policy.permission !== undefined;
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
    const project = projectWanted ? authenticator.projectNow(projectId) : null;
    if (project !== undefined)
      return allowedContext(authenticator, policy, principal, projectId, project, addressOf);
  } else if (failedAuth?.enabled) {
    failedAuth.check(addressOf());
  }
  return decideFromStore(options, policy, token, tokenHash, projectId, addressOf);
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

/** The decision when the token or the project must be read from the store: both at once. */
async function decideFromStore(
  options: Pick<AuthInterceptorOptions, "authenticator" | "failedAuth">,
  policy: MethodPolicy,
  token: string,
  tokenHash: string,
  projectId: string,
  addressOf: () => string,
): Promise<AuthContext> {
  const { authenticator, failedAuth } = options;
  const lookup =
    policy.project && policy.permission !== undefined ? authenticator.project(projectId) : undefined;
  lookup?.catch(() => {});
  let principal: Principal;
  try {
    principal = await authenticator.principal(token, tokenHash);
  } catch (error) {
    if (error instanceof DomainError && error.kind === "unauthenticated") failedAuth?.fail(addressOf());
    throw error;
  }
  return allowedContext(authenticator, policy, principal, projectId, lookup ? await lookup : null, addressOf);
}

/**
 * The server interceptor that authenticates and authorizes every call from its metadata
 * alone, before the handler starts or any message is read. Refused calls end with the status
 * of docs/iam-model.md; allowed calls reach the handler with their AuthContext.
 */
export function authInterceptor(options: AuthInterceptorOptions): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, next: ServerInterceptingCallInterface) => {
    const policy = options.policyFor(method.path);
    if (policy === "public") return new ServerInterceptingCall(next);
    let call: GatedCall | undefined;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, proceed) => {
        const started = performance.now();
        const finish = (allowed: boolean, reason: string) =>
          options.onDecision?.({
            path: method.path,
            allowed,
            reason,
            seconds: (performance.now() - started) / 1000,
          });
        const refuse = (error: unknown) => {
          const status = toStatus(error);
          finish(false, status.reason);
          call?.sendStatus({ code: status.code, details: status.details });
        };
        if (!policy) {
          refuse(new Error(`no auth policy for ${method.path}`));
          return;
        }
        const allow = (context: AuthContext) => {
          contexts.set(metadata, context);
          finish(true, "allowed");
          options.onAllowed?.(context);
          proceed(metadata);
          call?.release();
        };
        let decision: AuthContext | Promise<AuthContext>;
        try {
          decision = decide(options, policy, metadata, () => next.getPeer());
        } catch (error) {
          refuse(error);
          return;
        }
        if (decision instanceof Promise) decision.then(allow, refuse);
        else allow(decision);
      })
      .build();
    call = new GatedCall(next, { start: (proceed) => proceed(listener) });
    return call;
  };
}
