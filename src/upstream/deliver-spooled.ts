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
  return (call, signal) =>
    new Promise((resolve) => {
      const request = Buffer.from(call.request.buffer, call.request.byteOffset, call.request.byteLength);
      let cancelled = false;
      const onAbort = () => {
        cancelled = true;
        upstream.cancel();
      };
      const upstream = client.unary(
        METHOD_PATHS[call.method],
        request,
        client.metadata(call.upstreamProjectId),
        Date.now() + client.timeoutMs,
        (error) => {
          signal.removeEventListener("abort", onAbort);
          if (!error) {
            resolve({ code: status.OK, details: "", transport: false, reason: "ok" });
            return;
          }
          resolve(
            upstreamFailure(error, {
              capped: true,
              cancelledByGateway: cancelled,
              scrub: (text) => client.scrub(text),
            }),
          );
        },
      );
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
}
