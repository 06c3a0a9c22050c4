import { ByteBuffer, type Encoding } from "flatbuffers";
import { invalidArgument } from "../../errors.js";

// The generated accessors can be pointed at the same bytes over and over (offsets are signed, so
// tables can form cycles); a work budget proportional to the input keeps any walk linear.
const WORK_PER_BYTE = 16;
const BASE_WORK = 1 << 16;

const malformed = () => invalidArgument("The Arrow IPC metadata is malformed.", "malformed_arrow");

/**
 * A flatbuffers `ByteBuffer` whose every read is bounds-checked and counted against a work budget
 * proportional to the buffer's size. Out-of-range offsets and runaway walks throw `invalidArgument`
 * (reason `malformed_arrow`) instead of yielding `undefined`-derived garbage, so the generated
 * `apache-arrow/fb/*` accessors can be used on untrusted bytes.
 */
export class CheckedByteBuffer extends ByteBuffer {
  private readonly size: number;
  private budget: number;

  constructor(bytes: Uint8Array) {
    super(bytes);
    this.size = bytes.length;
    this.budget = WORK_PER_BYTE * bytes.length + BASE_WORK;
  }

  // readInt8/16, readUint32, readInt64/Uint64 and the offset helpers all funnel into these three.
  override readUint8(offset: number): number {
    this.check(offset, 1);
    return super.readUint8(offset);
  }

  override readUint16(offset: number): number {
    this.check(offset, 2);
    return super.readUint16(offset);
  }

  override readInt32(offset: number): number {
    this.check(offset, 4);
    return super.readInt32(offset);
  }

  override __string(offset: number, encoding?: Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    if (length < 0) throw malformed();
    this.check(start + 4, length);
    this.spend(length);
    return super.__string(offset, encoding);
  }

  private check(offset: number, width: number): void {
    if (!(offset >= 0 && offset + width <= this.size)) throw malformed();
    this.spend(1);
  }

  private spend(work: number): void {
    this.budget -= work;
    if (this.budget < 0) throw malformed();
  }
}
