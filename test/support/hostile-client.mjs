// A hostile client of the gateway's gRPC port, run as a process of its own (plain JavaScript,
// so that node runs it without a build step) so that its work never runs on the event loop of
// the test that measures the gateway's latency. `hostile-clients.ts` starts and stops it.
//
//   node hostile-client.mjs '{"attack":"random-bytes","target":"127.0.0.1:7070","durationMs":4000}'
//
// It attacks until SIGTERM or `durationMs`, then prints one JSON line of counters and exits 0.
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import net from "node:net";

const config = JSON.parse(process.argv[2] ?? "{}");
const [host, portText] = String(config.target).split(":");
const port = Number(portText);
// The attacker's own source address (e.g. 127.0.0.2: all of 127/8 is loopback), as a remote
// attacker's address differs from the agents'.
const localAddress = config.localAddress;
const deadline = Date.now() + (config.durationMs ?? 5000);
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});
const active = () => !stopping && Date.now() < deadline;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const stats = {
  attack: config.attack,
  connections: 0,
  bytesSent: 0,
  streamsOpened: 0,
  /** Streams or connections that the gateway ended before the attacker did. */
  endedByServer: 0,
  rstCodes: {},
  errors: {},
};
const count = (table, key) => {
  table[key] = (table[key] ?? 0) + 1;
};

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
// An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

/** Connects, writes what `payload()` returns, and waits up to 250 ms for the server to hang up. */
function rawConnection(payload) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, localAddress });
    let endedByUs = false;
    const timer = setTimeout(() => {
      endedByUs = true;
      socket.destroy();
    }, 250);
    socket.on("connect", () => {
      stats.connections++;
      const bytes = payload();
      stats.bytesSent += bytes.length;
      socket.write(bytes);
    });
    socket.on("data", () => {});
    socket.on("error", (error) => count(stats.errors, error.code ?? error.message));
    socket.on("close", () => {
      clearTimeout(timer);
      if (!endedByUs) stats.endedByServer++;
      resolve();
    });
  });
}

async function loop(concurrency, once) {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (active()) await once();
    }),
  );
}

function grpcHeaders(path) {
  return {
    ":method": "POST",
    ":path": path,
    ":scheme": "http",
    "content-type": "application/grpc",
    te: "trailers",
    ...(config.headers ?? {}),
  };
}

function session() {
  const s = http2.connect(`http://${host}:${port}`, { localAddress });
  s.on("error", (error) => count(stats.errors, error.code ?? error.message));
  stats.connections++;
  return s;
}

function watch(stream, onServerEnd) {
  stream.on("error", (error) => count(stats.errors, error.code ?? error.message));
  stream.on("response", () => {});
  stream.on("data", () => {});
  stream.on("close", () => {
    if (!stream.attackerClosed) {
      stats.endedByServer++;
      count(stats.rstCodes, stream.rstCode);
      onServerEnd?.();
    }
  });
}

const attacks = {
  /** Connections that send random bytes instead of HTTP/2. */
  "random-bytes": () =>
    loop(config.concurrency ?? 8, async () => {
      await rawConnection(() => randomBytes(1 + Math.floor(Math.random() * (config.maxBytes ?? 16384))));
      await sleep(config.pauseMs ?? 5);
    }),

  /** The HTTP/2 connection preface (sometimes with a valid SETTINGS frame), then garbage. */
  "preface-garbage": () =>
    loop(config.concurrency ?? 8, async () => {
      await rawConnection(() =>
        Buffer.concat([
          PREFACE,
          Math.random() < 0.5 ? EMPTY_SETTINGS : Buffer.alloc(0),
          randomBytes(1 + Math.floor(Math.random() * (config.maxBytes ?? 16384))),
        ]),
      );
      await sleep(config.pauseMs ?? 5);
    }),

  /**
   * Streams that announce a 30 MiB message and trickle it: `chunkBytes` every `everyMs`. A stream
   * the gateway ends is opened again, so the pressure stays for the whole attack.
   */
  "slow-sender": () =>
    Promise.all(
      Array.from({ length: config.streams ?? 4 }, async () => {
        const s = session();
        while (active() && !s.destroyed) {
          const stream = s.request(grpcHeaders(config.path), { endStream: false });
          stats.streamsOpened++;
          let ended = false;
          watch(stream, () => {
            ended = true;
          });
          const header = Buffer.alloc(5);
          header.writeUInt32BE(30 * 1024 * 1024, 1);
          stream.write(header);
          while (active() && !ended && !stream.destroyed) {
            const chunk = randomBytes(config.chunkBytes ?? 4096);
            stats.bytesSent += chunk.length;
            stream.write(chunk);
            await sleep(config.everyMs ?? 100);
          }
          stream.attackerClosed = !ended;
          if (!ended) stream.close(http2.constants.NGHTTP2_CANCEL);
        }
        s.destroy();
      }),
    ),

  /**
   * Connections that open `streamsPerConnection` streams with valid gRPC headers and send no
   * data. `hold` mode: `concurrency` connections open theirs over `rampMs`, hold them until the
   * attack stops, then drop every connection at once. `churn` mode: each of `concurrency`
   * workers opens a connection's streams, holds them `holdMs`, drops the connection, and again.
   */
  "abandoned-streams": async () => {
    const paths = config.paths ?? [config.path];
    const perConnection = config.streamsPerConnection ?? 128;
    const open = async (s, total, pause) => {
      const streams = [];
      for (let i = 0; i < total && active(); i++) {
        try {
          const stream = s.request(grpcHeaders(paths[i % paths.length]), { endStream: false });
          watch(stream);
          streams.push(stream);
          stats.streamsOpened++;
        } catch (error) {
          count(stats.errors, error.code ?? error.message);
          break;
        }
        if (pause > 0) await sleep(pause);
        else if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      return streams;
    };
    const drop = (s, streams) => {
      for (const stream of streams) stream.attackerClosed = true;
      s.destroy();
    };
    if ((config.mode ?? "hold") === "hold") {
      const connections = config.concurrency ?? 16;
      const pause = (config.rampMs ?? 1500) / perConnection;
      const held = await Promise.all(
        Array.from({ length: connections }, async () => {
          const s = session();
          return [s, await open(s, perConnection, pause)];
        }),
      );
      while (active()) await sleep(20);
      for (const [s, streams] of held) drop(s, streams);
      return;
    }
    await loop(config.concurrency ?? 4, async () => {
      const s = session();
      const streams = await open(s, perConnection, 0);
      await sleep(config.holdMs ?? 300);
      drop(s, streams);
    });
  },
};

const attack = attacks[config.attack];
if (!attack) {
  process.stderr.write(`unknown attack ${config.attack}\n`);
  process.exit(2);
}
await attack();
process.stdout.write(`${JSON.stringify(stats)}\n`);
process.exit(0);
