import * as zlib from "node:zlib";
import type { MessageCompression } from "../rpc/h2-unary.js";

type ZstdCompressSync = (input: Uint8Array, options?: { params?: Record<number, number> }) => Buffer;

/**
 * zstd at its fastest level, as parca-agent's `--remote-store-compression=zstd` sends it
 * (klauspost's SpeedFastest): Node's own zstd where it has one (22.15 and later), else the
 * reference library compiled to WebAssembly.
 */
export async function zstdCompression(): Promise<MessageCompression> {
  const native = (zlib as unknown as { zstdCompressSync?: ZstdCompressSync }).zstdCompressSync;
  const level = (zlib.constants as Record<string, number>)["ZSTD_c_compressionLevel"];
  if (typeof native === "function" && level !== undefined) {
    return { name: "zstd", compress: (message) => native(message, { params: { [level]: 1 } }) };
  }
  const wasm = await import("@bokuweb/zstd-wasm");
  await wasm.init();
  return { name: "zstd", compress: (message) => wasm.compress(message, 1) };
}
