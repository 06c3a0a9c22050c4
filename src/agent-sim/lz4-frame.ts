// FLG 0x60: version 01, independent blocks, no checksums, no content size. BD 0x40: 64 KiB max
// blocks. 0x82 is the header checksum ((xxh32(FLG, BD) >> 8) & 0xff); the lz4 CLI writes the same.
const HEADER = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
const MAX_BLOCK = 64 * 1024;
const UNCOMPRESSED_BLOCK = 0x80000000;

/**
 * Wraps `data` in a valid LZ4 frame made of *stored* (uncompressed) blocks, which every LZ4 frame
 * decoder accepts (the lz4 CLI itself emits them for incompressible input). It costs no CPU and does
 * not shrink anything: it exists so simulated payloads carry the same framing real agents send.
 */
export function lz4StoredFrame(data: Uint8Array): Uint8Array {
  const blocks = Math.ceil(data.length / MAX_BLOCK);
  const frame = new Uint8Array(HEADER.length + 4 * blocks + data.length + 4);
  const view = new DataView(frame.buffer);
  frame.set(HEADER);
  let position = HEADER.length;
  for (let start = 0; start < data.length; start += MAX_BLOCK) {
    const block = data.subarray(start, start + MAX_BLOCK);
    view.setUint32(position, (UNCOMPRESSED_BLOCK | block.length) >>> 0, true);
    frame.set(block, position + 4);
    position += 4 + block.length;
  }
  view.setUint32(position, 0, true); // end mark
  return frame;
}
