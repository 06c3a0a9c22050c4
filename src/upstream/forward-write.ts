import { type ServerDuplexStream, type StatusObject, status } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import { RelayedStatus } from "../errors.js";
import type { ForwardingDeps } from "./forwarding-deps.js";
import { upstreamDeadline } from "./upstream-client.js";
import { upstreamFailure } from "./upstream-failure.js";

/** An empty WriteResponse (zero bytes): "nothing more wanted". */
const EMPTY_WRITE_RESPONSE = Buffer.alloc(0);

/**
 * The bidi `Write` as a two-way pipe: each message of the agent goes upstream as it comes,
 * each message of the upstream comes back, with backpressure both ways. The upstream decides
 * which stacktraces it wants, and when it ends the call, the agent's call ends with the same
 * status (transport failures as UNAVAILABLE). Some agents crash when the call ends without a
 * WriteResponse, so an empty one is sent first if the upstream sent none. The exchange is
 * bounded by `--upstream-timeout`; an agent that goes away cancels the upstream call. Each
 * message of the agent was admitted (rate limits) by the edge, as in local mode.
 */
export function forwardWrite(deps: ForwardingDeps, path: string) {
  return (call: ServerDuplexStream<Buffer, Buffer>): void => {
    const started = Date.now();
    const auth = authContextOf(call);
    const deadline = upstreamDeadline(call.getDeadline(), deps.client.timeoutMs);
    const upstream = deps.client.bidi(
      path,
      deps.client.metadata(deps.client.upstreamProjectId(auth.projectId)),
      deadline.at,
    );
    let responded = false;
    let cancelled = false;
    let finished = false;
    let upstreamStatus: StatusObject | undefined;
    let upstreamEnded = false;

    const finish = () => {
      // Every response is relayed before the agent's call ends.
      if (finished || !upstreamStatus || !upstreamEnded) return;
      finished = true;
      const code = upstreamStatus.code;
      const failure =
        code === status.OK
          ? undefined
          : upstreamFailure(upstreamStatus, {
              capped: deadline.capped,
              cancelledByGateway: cancelled,
              scrub: (text) => deps.client.scrub(text),
            });
      deps.onUpstreamCall?.("Write", (Date.now() - started) / 1000, failure?.code ?? status.OK);
      if (cancelled) return;
      if (!responded) call.write(EMPTY_WRITE_RESPONSE);
      if (!failure) {
        deps.onUpstreamOk?.();
        call.end();
        return;
      }
      if (failure.transport) {
        deps.failures.warn(
          { method: "Write", reason: failure.reason, error: deps.client.scrub(upstreamStatus.details) },
          "the upstream failed; Write exchanges end with UNAVAILABLE",
        );
      }
      call.emit("error", new RelayedStatus(failure.code, failure.details, failure.reason));
    };

    const send = (message: Buffer) => {
      if (finished) return;
      if (!upstream.write(message)) {
        call.pause();
        upstream.once("drain", () => call.resume());
      }
    };
    call.on("data", send);
    call.on("end", () => upstream.end());
    call.on("cancelled", () => {
      cancelled = true;
      upstream.cancel();
    });

    upstream.on("data", (message: Buffer) => {
      responded = true;
      if (!call.write(message)) {
        upstream.pause();
        call.once("drain", () => upstream.resume());
      }
    });
    upstream.on("end", () => {
      upstreamEnded = true;
      finish();
    });
    // The status event carries the outcome; without a listener, 'error' would throw.
    upstream.on("error", () => {});
    upstream.on("status", (received: StatusObject) => {
      upstreamStatus = received;
      finish();
    });
  };
}
