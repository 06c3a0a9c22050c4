import type { Readable } from "node:stream";
import type {
  MethodDefinition,
  Server,
  ServerErrorResponse,
  StatusObject,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { limitReadAhead } from "./grpc-internals.js";
import { toStatus } from "./to-status.js";

type ServerStatusResponse = Partial<StatusObject>;

/** An unexpected failure of a handler: the method path and the cause, for the log (never the client). */
export type HandlerFault = (path: string, cause: unknown) => void;

function statusOf(path: string, error: unknown, onFault: HandlerFault): ServerStatusResponse {
  const mapped = toStatus(error);
  if (mapped.cause !== undefined) onFault(path, mapped.cause);
  return { code: mapped.code, details: mapped.details };
}

type Callback = sendUnaryData<unknown>;

/** A unary method as bound: its definition, and its handler with errors mapped to statuses. */
export interface BoundUnary {
  definition: MethodDefinition<unknown, unknown>;
  handler: (call: unknown, callback: Callback) => void;
}
type UnaryLike = (call: unknown, callback: Callback) => void;
type StreamLike = (call: { emit(event: string | symbol, ...args: unknown[]): boolean }) => void;

/**
 * Serves `binding` on `server` with every error its handlers report mapped to a status in one
 * place (`toStatus`): handlers pass what went wrong (a DomainError, a storage error, a relayed
 * upstream status) to the unary callback or emit it as a stream's `error`, and never build a
 * status themselves. Unexpected errors reach the client as a generic INTERNAL and `onFault` with
 * their cause. A client stream (an upload) is read at most one message ahead of its handler, so
 * that a stream paused by its handler holds one chunk, not grpc-js's sixteen.
 */
export function bindService(
  server: Server,
  binding: ServiceBinding,
  onFault: HandlerFault,
): Map<string, BoundUnary> {
  const implementation: UntypedServiceImplementation = {};
  const unary = new Map<string, BoundUnary>();
  for (const [name, method] of Object.entries(binding.definition)) {
    const handler = binding.implementation[name];
    if (handler === undefined) continue;
    const { path } = method;
    if (!method.responseStream) {
      const inner = handler as unknown as UnaryLike;
      const clientStream = method.requestStream;
      const bound = (call: unknown, callback: Callback) => {
        if (clientStream) limitReadAhead(call as Readable, 1);
        inner(call, (error, value, trailer, flags) => {
          if (error) callback(statusOf(path, error, onFault) as ServerErrorResponse);
          else callback(null, value, trailer, flags);
        });
      };
      implementation[name] = bound as unknown as UntypedHandleCall;
      if (!clientStream) unary.set(path, { definition: method, handler: bound });
    } else {
      const inner = handler as unknown as StreamLike;
      implementation[name] = ((call: { emit(event: string | symbol, ...args: unknown[]): boolean }) => {
        // grpc-js turns a stream's `error` event into its status; map the error on its way there.
        const emit = call.emit.bind(call);
        call.emit = (event, ...args) =>
          event === "error" ? emit("error", statusOf(path, args[0], onFault)) : emit(event, ...args);
        inner(call);
      }) as unknown as UntypedHandleCall;
    }
  }
  server.addService(binding.definition, implementation);
  return unary;
}
