import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { bodyChunks, isSourceError, normalizeBody } from '../../domain/storage/body';
import { ChecksumMismatchError } from '../../domain/storage/errors';
import {
  digestBytes,
  digestFile,
  digestStream,
  HashingStream,
  sha256Hex,
  VerifyingStream,
} from '../../domain/storage/hashing';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('digests', () => {
  it('agree across bytes, strings, streams and files', async () => {
    const data = randomBytes(200_000);
    const expected = { sha256: sha256(data), bytes: data.length };
    expect(digestBytes(data)).toEqual(expected);
    expect(digestBytes(new Uint8Array(data))).toEqual(expected);
    expect(await digestStream(Readable.from([data.subarray(0, 7), data.subarray(7)]))).toEqual(expected);
    const dir = await mkdtemp(join(tmpdir(), 'slipway-hash-'));
    try {
      await writeFile(join(dir, 'f'), data);
      expect(await digestFile(join(dir, 'f'))).toEqual(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(digestBytes('é')).toEqual({ sha256: sha256Hex(Buffer.from('é')), bytes: 2 });
    expect(digestBytes('')).toEqual({ sha256: sha256(''), bytes: 0 });
  });

  it('HashingStream passes bytes through and reports their digest at the end', async () => {
    const data = randomBytes(70_000);
    const hashing = new HashingStream();
    expect(() => hashing.digest()).toThrow(/before the stream ended/);
    const out = await drain(Readable.from([data]).pipe(hashing));
    expect(out).toEqual(data);
    expect(hashing.digest()).toEqual({ sha256: sha256(data), bytes: data.length });
  });
});

describe('VerifyingStream', () => {
  const data = Buffer.from('the quick brown fox');
  const expected = { sha256: sha256(data), bytes: data.length };

  it('passes exactly the expected bytes', async () => {
    const out = await drain(
      Readable.from([data.subarray(0, 4), data.subarray(4)]).pipe(new VerifyingStream('u', expected)),
    );
    expect(out).toEqual(data);
  });

  it('fails at the end on same-length corruption, naming both digests', async () => {
    const damaged = Buffer.from(data);
    damaged[3] ^= 1;
    const error = await pipeline(
      Readable.from([damaged]),
      new VerifyingStream('s3://b/k', expected),
      new PassThrough(),
    ).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error).toMatchObject({
      type: 'ChecksumMismatch',
      retryable: false,
      uri: 's3://b/k',
      expected,
      found: { sha256: sha256(damaged), bytes: data.length },
    });
    expect(error.message).toContain('s3://b/k');
    expect(error.message).toContain(expected.sha256);
  });

  it('fails on a short read at the end, and on extra bytes as soon as they arrive', async () => {
    const short = drain(Readable.from([data.subarray(0, 5)]).pipe(new VerifyingStream('u', expected)));
    await expect(short).rejects.toMatchObject({ found: { bytes: 5 } });

    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024));
      },
    });
    const verifier = new VerifyingStream('u', { sha256: expected.sha256, bytes: 4096 });
    const error = await pipeline(endless, verifier, new PassThrough()).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error.found.sha256).toBeUndefined();
    expect(error.message).toMatch(/found \d+ bytes/);
    expect(pulled).toBeLessThan(50);
  });
});

describe('artifact bodies', () => {
  it('normalizes every accepted shape and rejects others', () => {
    expect(normalizeBody('hé')).toEqual({ type: 'bytes', data: Buffer.from('hé') });
    const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    expect(normalizeBody(view)).toEqual({ type: 'bytes', data: Buffer.from([1, 2, 3]) });
    expect(normalizeBody({ filePath: '/x' })).toEqual({ type: 'file', filePath: '/x' });
    expect(normalizeBody(Readable.from([])).type).toBe('stream');
    expect(() => normalizeBody(42 as never)).toThrow(/Buffer, Uint8Array, string, Readable stream/);
    expect(() => normalizeBody(null as never)).toThrow(/got null/);
  });

  it('marks errors from the caller\u2019s source so stores do not blame themselves', async () => {
    const failing = new Readable({
      read() {
        this.destroy(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
      },
    });
    let caught: unknown;
    try {
      for await (const _ of bodyChunks(normalizeBody(failing))) {
        // consume
      }
    } catch (error) {
      caught = error;
    }
    expect(isSourceError(caught)).toBe(true);
    expect(isSourceError(new Error('other'))).toBe(false);

    const missing = bodyChunks({ type: 'file', filePath: '/definitely/not/here' });
    const error = await missing.next().then(
      () => undefined,
      (e) => e,
    );
    expect(error.code).toBe('ENOENT');
    expect(isSourceError(error)).toBe(true);
  });

  it('turns object-mode string chunks into Buffers', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of bodyChunks(normalizeBody(Readable.from(['ab', 'cd'])))) chunks.push(chunk);
    expect(chunks.every(Buffer.isBuffer)).toBe(true);
    expect(Buffer.concat(chunks).toString()).toBe('abcd');
  });
});
