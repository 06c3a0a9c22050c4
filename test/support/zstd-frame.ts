/**
 * zstd frames built by hand from raw and RLE blocks (RFC 8878): valid zstd that any decoder
 * reads, without a compressor. A raw block carries bytes as they are; an RLE block repeats one
 * byte up to 128 KiB, which is how a bomb expands a few bytes into a lot.
 */
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const MAX_BLOCK = 128 * 1024;

function blockHeader(last: boolean, type: 0 | 1, size: number): Buffer {
  const value = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]);
}

/** A frame header without a content size, with a window of 2^(10 + exponent) bytes. */
function frameHeader(windowExponent: number): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([0x00, windowExponent << 3])]);
}

/** `data` as one zstd frame of raw blocks (window 1 MiB). */
export function zstdRaw(data: Uint8Array): Buffer {
  const parts: Buffer[] = [frameHeader(10)];
  if (data.length === 0) parts.push(blockHeader(true, 0, 0));
  for (let at = 0; at < data.length; at += MAX_BLOCK) {
    const piece = data.subarray(at, Math.min(data.length, at + MAX_BLOCK));
    parts.push(blockHeader(at + MAX_BLOCK >= data.length, 0, piece.length), Buffer.from(piece));
  }
  return Buffer.concat(parts);
}

/** A bomb: `blocks` RLE blocks of 128 KiB each, a few bytes apiece on the wire. */
export function zstdBomb(blocks: number): Buffer {
  const parts: Buffer[] = [frameHeader(10)];
  for (let i = 0; i < blocks; i++)
    parts.push(blockHeader(i === blocks - 1, 1, MAX_BLOCK), Buffer.from([0x61]));
  return Buffer.concat(parts);
}

/** A frame whose header alone declares a window of 2^(10 + exponent) bytes. */
export function zstdHugeWindow(exponent: number): Buffer {
  return Buffer.concat([frameHeader(exponent), blockHeader(true, 0, 1), Buffer.from([0x61])]);
}
