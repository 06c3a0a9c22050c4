import type { FileHandle } from "node:fs/promises";
import { rm } from "node:fs/promises";
import { failedPrecondition, invalidArgument } from "../../errors.js";

/**
 * One open Upload stream. Call `write` for each chunk in order and await it (that is the
 * backpressure), then exactly one of `finish` or `abort`. Nothing is visible until `finish`
 * resolves; any rejection has already discarded the received bytes. `abort` is idempotent, so
 * a handler can call it unconditionally when the stream ends early.
 */
export interface DebuginfoUpload {
  /** Appends a chunk. Rejects with invalid_argument as soon as the total exceeds the announced size. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the file durable and puts it in place; rejects with invalid_argument if bytes are missing. */
  finish(): Promise<{ size: number }>;
  /** Discards what was received. */
  abort(): Promise<void>;
}

/** What the store does around the file: put it in place (under its lock), free the stream slot. */
export interface UploadWriterHooks {
  commit(): Promise<void>;
  release(): void;
}

/** Writes the chunks of one upload to its `.part` file; see `DebuginfoUpload`. */
export class UploadWriter implements DebuginfoUpload {
  private received = 0;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: FileHandle,
    private readonly partPath: string,
    private readonly announcedSize: number,
    private readonly hooks: UploadWriterHooks,
  ) {}

  write(chunk: Uint8Array): Promise<void> {
    return this.enqueue(() => this.append(chunk));
  }

  finish(): Promise<{ size: number }> {
    return this.enqueue(() => this.complete());
  }

  abort(): Promise<void> {
    return this.enqueue(() => this.discard());
  }

  // Calls that were not awaited still run one after another, so chunks land in call order.
  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => {});
    return result;
  }

  private async append(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.received + chunk.byteLength > this.announcedSize) {
      await this.discard();
      throw invalidArgument(
        `The upload is larger than the announced size of ${this.announcedSize} bytes; initiate a new upload with the right size.`,
        "upload_too_large",
      );
    }
    try {
      for (let offset = 0; offset < chunk.byteLength; ) {
        const { bytesWritten } = await this.file.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      await this.discard();
      throw error;
    }
    this.received += chunk.byteLength;
  }

  private async complete(): Promise<{ size: number }> {
    this.assertOpen();
    if (this.received < this.announcedSize) {
      await this.discard();
      throw invalidArgument(
        `The upload ended after ${this.received} of the announced ${this.announcedSize} bytes; initiate a new upload.`,
        "upload_incomplete",
      );
    }
    this.closed = true;
    try {
      await this.file.sync();
      await this.file.close();
      await this.hooks.commit();
    } catch (error) {
      await this.file.close().catch(() => {});
      await rm(this.partPath, { force: true });
      throw error;
    } finally {
      this.hooks.release();
    }
    return { size: this.received };
  }

  private async discard(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.file.close().catch(() => {});
      await rm(this.partPath, { force: true });
    } finally {
      this.hooks.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw failedPrecondition("The upload stream is already closed.", "upload_closed");
  }
}
