import { type sendUnaryData, type ServerReadableStream, status } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import { RelayedStatus } from "../errors.js";
import { asCallError } from "../rpc/call-error.js";
import type { ForwardingDeps } from "./forwarding-deps.js";
import { upstreamDeadline } from "./upstream-client.js";
import { upstreamFailure } from "./upstream-failure.js";

/** Bytes written upstream but not yet taken by the connection, above which reading pauses. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/**
 * The debuginfo `Upload` client stream forwarded chunk by chunk: each message of the agent is
 * written upstream as it arrives, and reading from the agent pauses while the upstream has not
 * taken what was written (HTTP/2 flow control), so memory stays bounded however large the
 * file (the edge reads at most one message ahead of a client stream). The upstream's
 * response or status ends the agent's call; an agent that goes away
 * cancels the upstream call. Uploads are bounded by the agent's deadline and `--upload-timeout`
 * (not `--upstream-timeout`: large files take as long as they take); either ends the call with
 * DEADLINE_EXCEEDED.
 */
export function forwardUpload(deps: ForwardingDeps, path: string) {
  return (call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const started = Date.now();
    const auth = authContextOf(call);
    const deadline = upstreamDeadline(call.getDeadline(), deps.uploadTimeoutMs);
    let done = false;
    let cancelled = false;
    let inFlight = 0;
    let paused = false;

    const upstream = deps.client.clientStream(
      path,
      deps.client.metadata(deps.client.upstreamProjectId(auth.projectId)),
      deadline.at,
      (error, response) => {
        done = true;
        if (paused) call.resume();
        if (!error) {
          deps.onUpstreamCall?.("Upload", (Date.now() - started) / 1000, status.OK);
          deps.onUpstreamOk?.();
          callback(null, response ?? Buffer.alloc(0));
          return;
        }
        const failure = upstreamFailure(error, {
          capped: false,
          cancelledByGateway: cancelled,
          scrub: (text) => deps.client.scrub(text),
        });
        deps.onUpstreamCall?.("Upload", (Date.now() - started) / 1000, failure.code);
        if (failure.transport) {
          deps.failures.warn(
            { method: "Upload", reason: failure.reason, error: deps.client.scrub(error.details ?? "") },
            "the upstream failed; uploads end with UNAVAILABLE",
          );
        }
        callback(asCallError(new RelayedStatus(failure.code, failure.details, failure.reason)));
      },
    );

    const maybeResume = () => {
      if (paused && !done && inFlight <= MAX_IN_FLIGHT_BYTES && !upstream.writableNeedDrain) {
        paused = false;
        call.resume();
      }
    };
    upstream.on("drain", maybeResume);
    call.on("data", (chunk: Buffer) => {
      if (done) return;
      inFlight += chunk.length;
      const more = upstream.write(chunk, () => {
        inFlight -= chunk.length;
        maybeResume();
      });
      if (!more || inFlight > MAX_IN_FLIGHT_BYTES) {
        paused = true;
        call.pause();
      }
    });
    call.on("end", () => {
      if (!done) upstream.end();
    });
    call.on("cancelled", () => {
      cancelled = true;
      done = true;
      upstream.cancel();
    });
  };
}
