import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import type { CallCredentials } from "../auth/auth-decision.js";
import { attachAuthContext, findAuthContext } from "../auth/call-context.js";
import type { AuthDecision, PolicyTable, MethodPolicy } from "../auth/method-policies.js";
import type { AuthContext } from "../auth/principal.js";
import { toStatus } from "./to-status.js";

/** The auth decision the gate asks for each call: a context, or a thrown DomainError. */
export type CallDecision = (
  policy: MethodPolicy,
  credentials: CallCredentials,
  peer: string | (() => string),
) => AuthContext | Promise<AuthContext>;

export interface AuthGateOptions {
  policyFor: PolicyTable;
  decide: CallDecision;
  onAllowed?: ((context: AuthContext) => void) | undefined;
  onDecision?: ((decision: AuthDecision) => void) | undefined;
}

function first(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

/** What a call's metadata presents to the decision. */
export function metadataCredentials(metadata: Metadata): CallCredentials {
  return {
    authorization: first(metadata, "authorization"),
    projectId: first(metadata, "projectid"),
    entries: Object.keys(metadata.getMap()).length,
  };
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
 * The interceptor that authenticates and authorizes every call from its metadata alone, before
 * the handler starts or any message is read. Refused calls end with the status of
 * docs/iam-model.md; allowed calls reach the handler with their context on `call.metadata`
 * (`authContextOf`). A call the front gate (edge/front-gate.ts) already decided arrives with its
 * context attached and passes as decided; the gate decides the rest (a server without the front
 * gate, such as one whose streams reach grpc-js another way).
 */
export function authGate(options: AuthGateOptions): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, next: ServerInterceptingCallInterface) => {
    const policy = options.policyFor(method.path);
    if (policy === "public") return new ServerInterceptingCall(next);
    let call: GatedCall | undefined;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, proceed) => {
        const started = performance.now();
        // Decided at the front gate (edge/front-gate.ts), which reported the decision.
        if (findAuthContext(metadata)) {
          proceed(metadata);
          call?.release();
          return;
        }
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
          attachAuthContext(metadata, context);
          finish(true, "allowed");
          options.onAllowed?.(context);
          proceed(metadata);
          call?.release();
        };
        let decision: AuthContext | Promise<AuthContext>;
        try {
          decision = options.decide(policy, metadataCredentials(metadata), () => next.getPeer());
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
