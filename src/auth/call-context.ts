import type { Metadata } from "@grpc/grpc-js";
import type { AuthContext } from "./principal.js";

/**
 * The caller travels with the call: the edge attaches the context it decided on to the call's
 * metadata object, which grpc-js hands to the handler as `call.metadata`. A symbol key keeps it
 * out of the metadata's entries, so it is never sent or logged as one.
 */
const CONTEXT = Symbol("profgate.authContext");

type CarriesContext = Metadata & { [CONTEXT]?: AuthContext };

/** Attaches the caller of an allowed call (the edge's auth gate does this). */
export function attachAuthContext(metadata: Metadata, context: AuthContext): void {
  (metadata as CarriesContext)[CONTEXT] = context;
}

/** The caller of a call, if it passed the auth gate. */
export function findAuthContext(metadata: Metadata | undefined): AuthContext | undefined {
  return (metadata as CarriesContext | undefined)?.[CONTEXT];
}

/** The caller of a call that passed the auth gate; a handler reached without it is a wiring bug. */
export function authContextOf(call: { metadata: Metadata }): AuthContext {
  const context = findAuthContext(call.metadata);
  if (!context) throw new Error("call reached a handler without passing the auth gate");
  return context;
}
