import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import type { Permission } from "../iam/permissions.js";
import { toStatus } from "../rpc/to-status.js";
import { decide } from "./auth-decision.js";
import type { Authenticator } from "./authenticator.js";
import type { FailedAuthLimiter } from "./failed-auth-limiter.js";
import type { AuthContext } from "./principal.js";

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
