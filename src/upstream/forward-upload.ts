import type { Readable } from "node:stream";
import { type sendUnaryData, type ServerReadableStream, status } from "@grpc/grpc-js";
import { authContextOf } from "../auth/auth-interceptor.js";
import type { ForwardingDeps } from "./forwarding-deps.js";
import { upstreamDeadline } from "./upstream-client.js";
import { upstreamFailure } from "./upstream-failure.js";

/** Bytes written upstream but not yet taken by the connection, above which reading pauses. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/**
 * grpc-js reads up to 16 messages ahead into a server stream's buffer even while it is paused;
 * with chunks of up to 8 MiB that is 128 MiB per upload. One message ahead is enough here.
 */
function limitReadAhead(stream: Readable, messages: number): void {
  const state = (stream as unknown as { _readableState?: { highWaterMark?: unknown } })._readableState;
  if (state && typeof state.highWaterMark === "number") state.highWaterMark = messages;
}

/**
 * The debuginfo `Upload` client stream forwarded chunk by chunk: each message of the agent is
 * written upstream as it arrives, and reading from the agent pauses while the upstream has not
 * taken what was written (HTTP/2 flow control), so memory stays bounded however large the
 * file. The upstream's response or status ends the agent's call; an agent that goes away
 * cancels the upstream call. Uploads are bounded by the agent's deadline and `--upload-timeout`
 * (not `--upstream-timeout`: large files take as long as they take); either ends the call with
 * DEADLINE_EXCEEDED.
 */
export function forwardUpload(deps: ForwardingDeps, path: string) {
  return (call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const started = Date.now();
    const auth = authContextOf(call);
    limitReadAhead(call, 1);
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
        callback({ code: failure.code, details: failure.details });
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
