import { parseArgs } from "node:util";
import { type sendUnaryData, Server, type ServerUnaryCall } from "@grpc/grpc-js";
import { listenAsGateway } from "./gateway-listener.js";

/** As the gateway: Parca accepts messages up to 64 MiB. */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;
const passBuffer = (bytes: Buffer) => bytes;
const EMPTY = Buffer.alloc(0);

/**
 * The floor of the whole-path benchmark: a bare grpc-js server with Parca's WriteArrow method
 * that keeps the request as bytes (no decoding), discards it and answers an empty response. No
 * auth, no metrics, no logs, no disk.
 *
 * `node dist/bench/servers/bare-server.js [--grpc-address 127.0.0.1:0]`
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "grpc-address": { type: "string", default: "127.0.0.1:0" },
      // Accepted like every bench server's; nothing is stored.
      "data-dir": { type: "string" },
    },
  });
  // The gateway's transport options that change per-call cost, so that only the work differs.
  const server = new Server({
    "grpc.max_receive_message_length": MAX_RECEIVE_BYTES,
    "grpc.enable_channelz": 0,
  });
  server.addService(
    {
      writeArrow: {
        path: "/parca.profilestore.v1alpha1.ProfileStoreService/WriteArrow",
        requestStream: false,
        responseStream: false,
        requestSerialize: passBuffer,
        requestDeserialize: passBuffer,
        responseSerialize: passBuffer,
        responseDeserialize: passBuffer,
      },
    },
    {
      writeArrow: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
        callback(null, EMPTY),
    },
  );
  const { address, stop: stopListening } = await listenAsGateway(server, values["grpc-address"]);
  process.stdout.write(
    `${JSON.stringify({ grpcAddress: `${address.host}:${address.port}`, msg: "profgate is listening" })}\n`,
  );
  const stop = () => void stopListening();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

await main();
