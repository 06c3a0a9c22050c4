import type { ClientUnaryCall, sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
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

/**
 * A unary method forwarded one to one: the agent's request bytes go upstream with the
 * gateway's metadata, the upstream's response bytes or status come back. The call is bounded
 * by the agent's deadline and `--upstream-timeout`, and cancelled upstream when the agent
 * goes away. Writes were admitted (rate limits) by the edge, as in local mode.
 *
 * With `spoolAs` and a spool: when the upstream cannot be reached the request is spooled and
 * acknowledged once durable; and while the project has spooled records waiting, new writes
 * join them in the spool rather than overtaking them, so a project's writes reach the
 * upstream in the order they were acknowledged.
 */
export function forwardUnary(deps: ForwardingDeps, path: string, spoolAs?: SpoolMethod) {
  const method = path.slice(path.lastIndexOf("/") + 1);
  const spool = spoolAs ? deps.spool : undefined;
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const started = Date.now();
    const auth = authContextOf(call);
    let cancelled = false;
    let upstream: ClientUnaryCall | undefined;
    call.on("cancelled", () => {
      cancelled = true;
      upstream?.cancel();
    });

    const toSpool = (spool: SpoolPort, spoolMethod: SpoolMethod) =>
      spool.append(spooledCall(auth, spoolMethod, started, deps, call.request)).then(
        () => callback(null, EMPTY_RESPONSE),
        (error: unknown) => callback(asCallError(error)),
      );

    const forward = () => {
      if (cancelled) return;
      if (spool && spoolAs && spool.holds(auth.projectId)) {
        void toSpool(spool, spoolAs);
        return;
      }
      const deadline = upstreamDeadline(call.getDeadline(), deps.client.timeoutMs);
      upstream = deps.client.unary(
        path,
        call.request,
        deps.client.metadata(deps.client.upstreamProjectId(auth.projectId)),
        deadline.at,
        (error, response) => {
          const seconds = () => (Date.now() - started) / 1000;
          if (!error) {
            deps.onUpstreamCall?.(method, seconds(), 0);
            deps.onUpstreamOk?.();
            callback(null, response ?? EMPTY_RESPONSE);
            return;
          }
          const failure = upstreamFailure(error, {
            capped: deadline.capped,
            cancelledByGateway: cancelled,
            scrub: (text) => deps.client.scrub(text),
          });
          deps.onUpstreamCall?.(method, seconds(), failure.code);
          if (failure.transport) {
            deps.failures.warn(
              { method, reason: failure.reason, error: deps.client.scrub(error.details ?? "") },
              spool ? "the upstream failed; spooling writes" : "the upstream failed; agents get UNAVAILABLE",
            );
          }
          if (failure.transport && spool && spoolAs && !cancelled) {
            void toSpool(spool, spoolAs);
            return;
          }
          callback(asCallError(new RelayedStatus(failure.code, failure.details, failure.reason)));
        },
      );
    };

    forward();
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
