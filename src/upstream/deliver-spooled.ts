import { status } from "@grpc/grpc-js";
import { METHOD_PATHS } from "../record-log/record.js";
import type { Deliver } from "./spool/spool-drainer.js";
import type { UpstreamClient } from "./upstream-client.js";
import { upstreamFailure } from "./upstream-failure.js";

/**
 * Delivers a spooled call as the original call would have gone: the same method and request
 * bytes, the gateway's metadata with the `projectid` recorded at acceptance, bounded by
 * `--upstream-timeout`. Aborting the signal cancels the call.
 */
export function deliverSpooled(client: UpstreamClient): Deliver {
  return async (call, signal) => {
    const request = Buffer.from(call.request.buffer, call.request.byteOffset, call.request.byteLength);
    const outcome = await client.unary(
      METHOD_PATHS[call.method],
      request,
      call.upstreamProjectId,
      Date.now() + client.timeoutMs,
      signal,
    );
    if (outcome.code === status.OK) return { code: status.OK, details: "", transport: false, reason: "ok" };
    return upstreamFailure(outcome, {
      capped: true,
      cancelledByGateway: signal.aborted,
      scrub: (text) => client.scrub(text),
    });
  };
}
