import { once } from "node:events";
import { type ClientHttp2Session, connect, constants, type OutgoingHttpHeaders } from "node:http2";
import { connect as netConnect } from "node:net";

/** How one raw HTTP/2 gRPC call ended. `grpcStatus` is undefined when the server sent none. */
export interface RawHttp2Outcome {
  httpStatus?: number;
  grpcStatus?: number;
  grpcMessage?: string;
  /** Set when the stream was reset instead of ending with trailers. */
  rstCode?: number;
  /** Set when the session failed under the stream. */
  error?: string;
  timedOut: boolean;
}

/**
 * An HTTP/2 (h2c) session to `target` (`host:port`), connected; from `localAddress` when given
 * (e.g. 127.0.0.3, to be another client address on loopback).
 */
export async function http2Session(target: string, localAddress?: string): Promise<ClientHttp2Session> {
  const url = new URL(`http://${target}`);
  const session = connect(url, {
    createConnection: () =>
      netConnect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port), localAddress }),
  });
  session.on("error", () => {});
  await once(session, "connect");
  return session;
}

/** The request headers of a gRPC call to `path`, plus `extra` (values as sent, arrays repeat the header). */
export function grpcHeaders(path: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return {
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: path,
    [constants.HTTP2_HEADER_SCHEME]: "http",
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  };
}

/**
 * One gRPC call written by hand: `headers`, then each of `body` as a DATA write, then the end
 * of the stream (unless `halfClose` is false). Resolves with the status from the response
 * headers (trailers-only) or trailers, or the reset code; after `timeoutMs` resolves `timedOut`
 * and resets the stream.
 */
export function rawHttp2Call(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: readonly Uint8Array[],
  options: { timeoutMs?: number; halfClose?: boolean } = {},
): Promise<RawHttp2Outcome> {
  const { timeoutMs = 10_000, halfClose = true } = options;
  return new Promise((resolve) => {
    const outcome: RawHttp2Outcome = { timedOut: false };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const take = (h: Record<string, unknown>) => {
      if (h[":status"] !== undefined) outcome.httpStatus = Number(h[":status"]);
      if (h["grpc-message"] !== undefined)
        outcome.grpcMessage = decodeURIComponent(String(h["grpc-message"]));
      if (h["grpc-status"] !== undefined) {
        outcome.grpcStatus = Number(h["grpc-status"]);
        // The call has ended, even when this side never half-closed.
        if (!halfClose) stream.close(constants.NGHTTP2_NO_ERROR);
        settle();
      }
    };
    let stream: ReturnType<ClientHttp2Session["request"]>;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (error) {
      outcome.error = (error as Error).message;
      resolve(outcome);
      return;
    }
    const timer = setTimeout(() => {
      outcome.timedOut = true;
      stream.close(constants.NGHTTP2_CANCEL);
      settle();
    }, timeoutMs);
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => {});
    stream.on("error", (error: Error) => {
      outcome.error = error.message;
    });
    stream.on("close", () => {
      if (outcome.grpcStatus === undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
        outcome.rstCode = stream.rstCode;
      }
      settle();
    });
    for (const chunk of body) stream.write(chunk);
    if (halfClose) stream.end();
  });
}
