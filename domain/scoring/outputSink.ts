import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Writes to a stream with backpressure: `write` resolves once the stream has room again, so a
 * producer that awaits it is never more than one chunk ahead of a slow disk or consumer.
 */
export class OutputSink {
  private failure: Error | undefined;

  constructor(private readonly out: Writable) {
    // Remembered, and raised by the next write or end: an error may come between writes.
    out.on('error', (error) => {
      this.failure ??= error;
    });
  }

  /** Queues `bytes` without waiting (a small first write, such as a header). */
  writeNow(bytes: Buffer): void {
    if (this.failure) throw this.failure;
    this.out.write(bytes);
  }

  async write(bytes: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    // once() rejects if the stream fails while we wait.
    if (!this.out.write(bytes)) await once(this.out, 'drain');
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    this.out.end();
    await finished(this.out);
  }

  /** Stops the stream with `error` (a consumer such as an upload discards what it received). */
  async destroy(error: Error): Promise<void> {
    this.out.destroy(error);
    await finished(this.out).catch(() => undefined);
  }
}
