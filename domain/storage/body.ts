import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ArtifactBody } from './artifactStore';

/** An ArtifactBody sorted by how it can be read: all in memory, a local file, or a one-shot stream. */
export type NormalizedBody =
  | { type: 'bytes'; data: Buffer }
  | { type: 'file'; filePath: string }
  | { type: 'stream'; stream: Readable };

export function normalizeBody(body: ArtifactBody): NormalizedBody {
  if (typeof body === 'string') return { type: 'bytes', data: Buffer.from(body, 'utf8') };
  if (Buffer.isBuffer(body)) return { type: 'bytes', data: body };
  if (body instanceof Uint8Array) {
    return { type: 'bytes', data: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  }
  if (body instanceof Readable) return { type: 'stream', stream: body };
  if (body && typeof body === 'object' && 'filePath' in body && typeof body.filePath === 'string') {
    return { type: 'file', filePath: body.filePath };
  }
  throw new TypeError(
    'Artifact body must be a Buffer, Uint8Array, string, Readable stream or { filePath: string }; got ' +
      `${body === null ? 'null' : typeof body}.`,
  );
}

const sourceErrors = new WeakSet<object>();

/**
 * True for an error raised while reading the caller's body (its stream failed, its file is
 * missing), as opposed to one raised while writing to the store: a store must not blame its own
 * directory or bucket for the caller's input.
 */
export function isSourceError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && sourceErrors.has(error);
}

/** Chunks of a normalized body as Buffers (object-mode streams may yield strings). */
export async function* bodyChunks(body: NormalizedBody): AsyncGenerator<Buffer> {
  if (body.type === 'bytes') {
    yield body.data;
    return;
  }
  const stream = body.type === 'file' ? createReadStream(body.filePath) : body.stream;
  // Errors thrown by the consumer's loop body do not come through here (the generator is
  // returned, not thrown into), so everything caught below came from the source.
  try {
    for await (const chunk of stream) {
      yield typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk);
    }
  } catch (error) {
    if (typeof error === 'object' && error !== null) sourceErrors.add(error);
    throw error;
  }
}
