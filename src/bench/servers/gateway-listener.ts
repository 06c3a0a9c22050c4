import { ServerCredentials, type Server } from "@grpc/grpc-js";
import { type HostPort, parseHostPort } from "../../config/flag-spec.js";
import { SERVE_FLAGS } from "../../config/serve-flags.js";
import { listenGated } from "../../edge/gated-listener.js";
import type { ReceiveWindows } from "../../edge/grpc-internals.js";

/** `profgate serve`'s default HTTP/2 receive windows, per stream and per connection. */
export function serveReceiveWindows(): ReceiveWindows {
  const { http2StreamWindow, http2ConnectionWindow } = SERVE_FLAGS;
  return {
    streamBytes: http2StreamWindow.parse(http2StreamWindow.default),
    connectionBytes: http2ConnectionWindow.parse(http2ConnectionWindow.default),
  };
}

/**
 * Listens on `address` (`host:port`) as `profgate serve`'s edge listens for agents: connections
 * accepted by the gated listener, with `serve`'s default HTTP/2 receive windows, so that a bare
 * bench server differs from the gateway only in the work it does per call.
 */
export async function listenAsGateway(
  server: Server,
  address: string,
): Promise<{ address: HostPort; stop(): Promise<void> }> {
  const listener = await listenGated(server, parseHostPort(address), ServerCredentials.createInsecure(), {
    receiveWindows: serveReceiveWindows(),
  });
  return {
    address: listener.address,
    async stop() {
      const closing = listener.close();
      await new Promise<void>((done) => server.tryShutdown(() => done()));
      listener.destroyAll();
      await closing;
    },
  };
}
