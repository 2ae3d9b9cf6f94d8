import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from './errors';

/** Reads a whole stream into memory; the stream's own error (e.g. a checksum mismatch) propagates. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Writes a stream to `filePath` through a temporary sibling and renames it into place only when
 * the stream ended cleanly, so a failed or unverified download never leaves a file behind.
 */
export async function streamToFileAtomically(stream: Readable, filePath: string): Promise<string> {
  const target = resolve(filePath);
  await mkdir(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${randomUUID()}.partial`);
  try {
    await pipeline(stream, createWriteStream(temp, { flags: 'wx' }));
    await rename(temp, target);
    return target;
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** Makes a rename or link durable: the directory entry itself must reach the disk. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on directories; the data itself was already synced.
    if (
      (error as NodeJS.ErrnoException).code !== 'EINVAL' &&
      (error as NodeJS.ErrnoException).code !== 'EBADF'
    ) {
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Writes chunks to a new file (which must not exist), hashing and counting as they pass, and
 * fsyncs it before returning so a later rename or link publishes bytes that are on disk.
 */
export async function writeChunksToFile(
  filePath: string,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  const handle = await open(filePath, 'wx');
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}
