import { type ClientHttp2Session, constants, type OutgoingHttpHeaders } from "node:http2";
import { http2Session } from "./raw-http2.js";

/** How the streams of a partial-message flood ended. */
export interface FloodReport {
  streams: number;
  /** gRPC status codes the gateway answered, by name-less code: count. */
  statuses: Record<string, number>;
  /** Streams the gateway reset without a status it was seen to send. */
  reset: number;
  /** Streams still open when the flood was released (the gateway holds their bytes). */
  held: number;
  bytesWritten: number;
}

export interface FloodOptions {
  target: string;
  /** Where the flood comes from: a loopback address of its own (127.0.0.x). */
  localAddress: string;
  connections: number;
  streamsPerConnection: number;
  headers: OutgoingHttpHeaders;
  /** The size each message's length prefix announces. */
  announcedBytes: number;
  /** How much of it each stream sends before holding. */
  sentBytes: number;
}

const CHUNK = Buffer.alloc(1024 * 1024, 0x61);

/**
 * Opens `connections` x `streamsPerConnection` gRPC streams that each announce a large message
 * and send only part of it, then hold: the attack that makes a gateway buffer partial messages.
 * Writes go as fast as HTTP/2 flow control lets them. `release` resets every stream and closes
 * the connections.
 */
export async function floodPartialMessages(options: FloodOptions): Promise<{
  /** Resolves once every stream has sent its part, been answered, or stalled for `stallMs`. */
  settled(stallMs: number): Promise<FloodReport>;
  release(): void;
}> {
  const sessions: ClientHttp2Session[] = [];
  const report: FloodReport = { streams: 0, statuses: {}, reset: 0, held: 0, bytesWritten: 0 };
  const open = new Set<ReturnType<ClientHttp2Session["request"]>>();
  let lastProgress = Date.now();
  for (let c = 0; c < options.connections; c++) {
    const session = await http2Session(options.target, options.localAddress);
    sessions.push(session);
    for (let s = 0; s < options.streamsPerConnection; s++) {
      const stream = session.request(options.headers, { endStream: false });
      report.streams++;
      open.add(stream);
      stream.on("error", () => {});
      stream.on("data", () => {});
      const answered = (h: Record<string, unknown>) => {
        if (h["grpc-status"] === undefined) return;
        const code = String(h["grpc-status"]);
        report.statuses[code] = (report.statuses[code] ?? 0) + 1;
        lastProgress = Date.now();
        open.delete(stream);
      };
      stream.on("response", answered);
      stream.on("trailers", answered);
      stream.on("close", () => {
        if (open.delete(stream)) report.reset++;
        lastProgress = Date.now();
      });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(options.announcedBytes, 1);
      stream.write(prefix);
      let sent = 0;
      const pump = () => {
        while (sent < options.sentBytes && !stream.destroyed && !stream.closed) {
          const piece = CHUNK.subarray(0, Math.min(CHUNK.length, options.sentBytes - sent));
          sent += piece.length;
          report.bytesWritten += piece.length;
          lastProgress = Date.now();
          if (!stream.write(piece)) {
            stream.once("drain", pump);
            return;
          }
        }
      };
      pump();
    }
  }
  return {
    async settled(stallMs) {
      while (Date.now() - lastProgress < stallMs) await new Promise((r) => setTimeout(r, 100));
      report.held = open.size;
      return { ...report, statuses: { ...report.statuses } };
    },
    release() {
      for (const stream of open) if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      for (const session of sessions) session.destroy();
    },
  };
}
