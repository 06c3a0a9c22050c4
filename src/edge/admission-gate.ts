import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import { findAuthContext } from "../auth/call-context.js";
import type { PolicyTable } from "../auth/method-policies.js";
import type { Admit } from "../ingest/admission.js";
import { toStatus } from "./to-status.js";
import { receivedBytes } from "./message-size.js";

export interface AdmissionGateOptions {
  policyFor: PolicyTable;
  admit: Admit;
  /** A message refused: its method path and the reason slug (a metric label). */
  onRefused?: ((path: string, reason: string) => void) | undefined;
}

/**
 * The one place where what a caller sends is admitted (per-project rate limits), for the
 * handlers that store it and the forwarders that pass it upstream alike: every message of a
 * method whose policy says `admitted` is weighed at its size as received before it reaches the
 * handler, in order; a refused message ends the call with its status, and nothing after it is
 * passed on. Runs after the auth gate, whose context it reads.
 */
export function admissionGate(options: AdmissionGateOptions): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, next: ServerInterceptingCallInterface) => {
    const policy = options.policyFor(method.path);
    if (policy === undefined || policy === "public" || !policy.admitted)
      return new ServerInterceptingCall(next);
    let call: ServerInterceptingCall | undefined;
    let metadata: Metadata | undefined;
    /** The messages admitted so far, in order; undefined while nothing waits. */
    let queue: Promise<void> | undefined;
    let refused = false;
    const refuse = (error: unknown) => {
      if (refused) return;
      refused = true;
      const status = toStatus(error);
      options.onRefused?.(method.path, status.reason);
      call?.sendStatus({ code: status.code, details: status.details });
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((value, proceed) => {
        metadata = value;
        proceed(value);
      })
      .withOnReceiveMessage((message, proceed) => {
        if (refused) return;
        const context = findAuthContext(metadata);
        const admitting = () => (context ? options.admit(context, receivedBytes(message)) : undefined);
        if (queue === undefined) {
          let pending: Promise<void> | undefined;
          try {
            pending = admitting();
          } catch (error) {
            refuse(error);
            return;
          }
          if (pending === undefined) {
            proceed(message);
            return;
          }
          queue = pending;
        } else {
          queue = queue.then(admitting);
        }
        const mine: Promise<void> = queue.then(
          () => {
            if (!refused) proceed(message);
            if (queue === mine) queue = undefined;
          },
          (error: unknown) => {
            refuse(error);
            if (queue === mine) queue = undefined;
          },
        );
        queue = mine;
      })
      .withOnReceiveHalfClose((proceed) => {
        if (queue === undefined) proceed();
        else void queue.then(() => (refused ? undefined : proceed()));
      })
      .build();
    call = new ServerInterceptingCall(next, { start: (proceed) => proceed(listener) });
    return call;
  };
}
