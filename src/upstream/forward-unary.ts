import { type sendUnaryData, type ServerUnaryCall, status } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import { RelayedStatus } from "../errors.js";
import { asCallError } from "../rpc/call-error.js";
import type { ForwardingDeps, SpoolPort } from "./forwarding-deps.js";
import type { SpoolMethod } from "./spool/spooled-call.js";
import { upstreamDeadline } from "./upstream-client.js";
import { upstreamFailure } from "./upstream-failure.js";

/** WriteRawResponse, WriteArrowResponse and the Export*ServiceResponses are empty messages: zero bytes. */
const EMPTY_RESPONSE = Buffer.alloc(0);

/** How one forwarded request is bounded: the caller's deadline, and what cancels it. */
export interface ForwardOptions {
  /** The caller's deadline (ms since the epoch, a Date, or Infinity). */
  deadline: Date | number;
  signal?: AbortSignal | undefined;
}

/**
 * One unary request forwarded one to one: its bytes go upstream with the gateway's metadata,
 * and the upstream's response bytes come back (or its status, as a RelayedStatus). Bounded by
 * the caller's deadline and `--upstream-timeout`, and cancelled upstream when `signal` aborts.
 *
 * With `spoolAs` and a spool: when the upstream cannot be reached the request is spooled and
 * acknowledged (an empty response) once durable; and while the project has spooled records
 * waiting, new writes join them in the spool rather than overtaking them, so a project's writes
 * reach the upstream in the order they were acknowledged.
 */
export function forwardRequest(
  deps: ForwardingDeps,
  path: string,
  spoolAs: SpoolMethod | undefined,
  auth: AuthContext,
  request: Buffer,
  options: ForwardOptions,
): Promise<Buffer> {
  const method = path.slice(path.lastIndexOf("/") + 1);
  const spool = spoolAs ? deps.spool : undefined;
  const started = Date.now();
  const toSpool = (spool: SpoolPort, spoolMethod: SpoolMethod) =>
    spool.append(spooledCall(auth, spoolMethod, started, deps, request)).then(() => EMPTY_RESPONSE);
  if (spool && spoolAs && spool.holds(auth.projectId)) return toSpool(spool, spoolAs);
  const deadline = upstreamDeadline(options.deadline, deps.client.timeoutMs);
  return deps.client
    .unary(path, request, deps.client.upstreamProjectId(auth.projectId), deadline.at, options.signal)
    .then((outcome): Buffer | Promise<Buffer> => {
      const seconds = (Date.now() - started) / 1000;
      if (outcome.code === status.OK) {
        deps.onUpstreamCall?.(method, seconds, status.OK);
        deps.onUpstreamOk?.();
        return outcome.response ?? EMPTY_RESPONSE;
      }
      const cancelled = options.signal?.aborted === true;
      const failure = upstreamFailure(outcome, {
        capped: deadline.capped,
        cancelledByGateway: cancelled,
        scrub: (text) => deps.client.scrub(text),
      });
      deps.onUpstreamCall?.(method, seconds, failure.code);
      if (failure.transport) {
        deps.failures.warn(
          { method, reason: failure.reason, error: deps.client.scrub(outcome.details) },
          spool ? "the upstream failed; spooling writes" : "the upstream failed; agents get UNAVAILABLE",
        );
      }
      if (failure.transport && spool && spoolAs && !cancelled) return toSpool(spool, spoolAs);
      throw new RelayedStatus(failure.code, failure.details, failure.reason);
    });
}

/**
 * A unary method forwarded one to one (`forwardRequest`), cancelled upstream when the agent
 * goes away. Writes were admitted (rate limits) by the edge, as in local mode.
 */
export function forwardUnary(deps: ForwardingDeps, path: string, spoolAs?: SpoolMethod) {
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const auth = authContextOf(call);
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    forwardRequest(deps, path, spoolAs, auth, call.request, {
      deadline: call.getDeadline(),
      signal: abort.signal,
    }).then(
      (response) => callback(null, response),
      (error: unknown) => callback(asCallError(error)),
    );
  };
}

function spooledCall(
  auth: AuthContext,
  method: SpoolMethod,
  receivedAt: number,
  deps: ForwardingDeps,
  request: Buffer,
) {
  return {
    organizationId: auth.organizationId,
    projectId: auth.projectId,
    serviceAccountId: auth.serviceAccountId,
    tokenId: auth.tokenId,
    method,
    receivedAt,
    upstreamProjectId: deps.client.upstreamProjectId(auth.projectId),
    request,
  };
}
