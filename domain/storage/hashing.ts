import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { ChecksumMismatchError, type Digest } from './errors';

export type { Digest } from './errors';

export function sha256Hex(data: Buffer | Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Digest of a whole in-memory value. */
export function digestBytes(data: Buffer | Uint8Array | string): Digest {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  return { sha256: sha256Hex(data), bytes };
}

/** Reads a stream (or any async iterable of chunks) to the end, hashing and counting. */
export async function digestStream(source: AsyncIterable<Buffer | Uint8Array | string>): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function digestFile(filePath: string): Promise<Digest> {
  return digestStream(createReadStream(filePath));
}

/**
 * A pass-through that hashes and counts what flows through it; `digest()` is valid after the end.
 * Used to learn an object's key while it is being written somewhere else.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private count = 0;
  private result: Digest | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.byteLength;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = { sha256: this.hash.digest('hex'), bytes: this.count };
    callback();
  }

  digest(): Digest {
    if (!this.result) throw new Error('HashingStream.digest() called before the stream ended');
    return this.result;
  }
}

/**
 * A pass-through that fails with ChecksumMismatchError unless exactly the expected bytes flow
 * through. Too many bytes fail as soon as they appear; a wrong hash or a short read fails at
 * the end, so a consumer must read to the end before trusting what it has read.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private count = 0;

  constructor(
    private readonly uri: string,
    private readonly expected: Digest,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.byteLength;
    if (this.count > this.expected.bytes) {
      // No point reading the rest of an object that is already known to be wrong.
      callback(new ChecksumMismatchError(this.uri, this.expected, { sha256: undefined, bytes: this.count }));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const found = { sha256: this.hash.digest('hex'), bytes: this.count };
    if (found.sha256 !== this.expected.sha256 || found.bytes !== this.expected.bytes) {
      callback(new ChecksumMismatchError(this.uri, this.expected, found));
      return;
    }
    callback();
  }
}
