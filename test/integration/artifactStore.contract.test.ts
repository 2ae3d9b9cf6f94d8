import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { planGarbageCollection } from '../../domain/gc/plan';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import type { ArtifactStore, ObjectInfo } from '../../domain/storage/artifactStore';
import {
  ArtifactNotFoundError,
  ArtifactOutsideStoreError,
  ChecksumMismatchError,
  InvalidStoreKeyError,
  S3AccessDeniedError,
  S3BucketNotFoundError,
  S3ObjectNotFoundError,
  S3UnreachableError,
  StorageConfigError,
} from '../../domain/storage/errors';
import { digestStream } from '../../domain/storage/hashing';
import { LocalArtifactStore } from '../../domain/storage/localStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createS3Client, openS3Object, type S3Connection, statS3Object } from '../../domain/storage/s3Client';
import { S3ArtifactStore } from '../../domain/storage/s3Store';
import { rejectionOf } from '../support/rejection';
import { testServices } from '../support/services';

/** One backend under test, with the back doors the contract needs to damage and inspect it. */
interface Backend {
  store: ArtifactStore;
  /** Overwrites the stored bytes of a key without going through the store. */
  writeRaw(key: string, data: Buffer): Promise<void>;
  /** Temp or staging files the store left behind. */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const keyOf = (store: ArtifactStore, ref: ArtifactRef) => ref.uri.slice(store.location.length + 1);

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A stream of `total` random bytes in 1 MiB chunks, hashing what it emits; `onChunk(sent)` before each. */
function generatedStream(
  total: number,
  onChunk: (sent: number) => void = () => {},
): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  async function* chunks() {
    for (let sent = 0; sent < total; sent += MiB) {
      onChunk(sent);
      const chunk = randomBytes(Math.min(MiB, total - sent));
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), digest: () => hash.digest('hex') };
}

/** A stream that emits `before` bytes and then fails, like a source dying mid-transfer. */
function failingStream(before: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= before) {
        this.destroy(new Error('source died halfway'));
        return;
      }
      sent += 256 * 1024;
      this.push(randomBytes(256 * 1024));
    },
  });
}

// Live memory (after a full GC) is what a buffering implementation would grow; RSS alone is
// too noisy to catch that because the allocator keeps freed pages.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** How far apart the memory probe's samples are in a transfer: a handful of full GCs per 50 MB. */
const SAMPLE_EVERY = 8 * MiB;

/**
 * The peak growth of live memory (and RSS) over a transfer, sampled as its bytes pass (every
 * SAMPLE_EVERY bytes and at the end) rather than on a clock, so a slow transfer on a loaded
 * machine costs no more GCs than a fast one. An implementation that holds the object shows it
 * at a sample: a buffering put by its last source chunk, a buffering get by its first bytes out.
 */
function liveMemoryProbe() {
  const sample = () => {
    gc();
    const usage = process.memoryUsage();
    return { live: usage.heapUsed + usage.arrayBuffers, rss: usage.rss };
  };
  const before = sample();
  let peak = before.live;
  let peakRss = before.rss;
  let next = 0;
  const take = () => {
    const now = sample();
    peak = Math.max(peak, now.live);
    peakRss = Math.max(peakRss, now.rss);
  };
  /** Call with the bytes passed so far; samples when another SAMPLE_EVERY bytes have passed. */
  const at = (passed: number) => {
    if (passed < next) return;
    next = passed + SAMPLE_EVERY;
    take();
  };
  return {
    at,
    /** A copy of `stream` that samples as its bytes pass. */
    watch(stream: Readable): Readable {
      async function* passing() {
        let passed = 0;
        for await (const chunk of stream) {
          at(passed);
          passed += (chunk as Buffer).length;
          yield chunk;
        }
      }
      return Readable.from(passing(), { objectMode: false });
    },
    growth() {
      take();
      return { liveGrowth: peak - before.live, rssGrowth: peakRss - before.rss };
    },
  };
}

describe('the memory probe of the streaming contract', () => {
  it('sees an object held in memory as it passes (so the contract below can fail)', async () => {
    const probe = liveMemoryProbe();
    const held = await readStream(probe.watch(generatedStream(50 * MiB).stream));
    const { liveGrowth } = probe.growth();
    expect(held.length).toBe(50 * MiB);
    expect(liveGrowth).toBeGreaterThan(45 * MiB);
  });
});

/** A listing's modification time: an ISO 8601 instant within the last hour (clocks of one machine). */
const writtenAt = expect.toSatisfy(
  (t: unknown) => typeof t === 'string' && Math.abs(Date.now() - Date.parse(t)) < 3_600_000,
  'an ISO time within the last hour',
);

function artifactStoreContract(name: string, open: () => Promise<Backend>) {
  describe(`ArtifactStore contract: ${name}`, () => {
    let backend: Backend;
    let store: ArtifactStore;
    let scratch: string;

    beforeAll(async () => {
      backend = await open();
      store = backend.store;
      scratch = await mkdtemp(join(tmpdir(), 'slipway-contract-scratch-'));
    });
    afterAll(async () => {
      await backend?.cleanup();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('round-trips a Buffer into a content-addressed key and reads it back three ways', async () => {
      const data = Buffer.from(`Time,V1,Class\n0,1.5,0\n1,-2.25,1\n${randomUUID()}\n`);
      const ref = await store.put(data, { kind: 'dataset', mediaType: 'text/csv', extension: '.csv' });
      expect(ref).toEqual({
        uri: `${store.location}/dataset/sha256/${sha256(data)}.csv`,
        sha256: sha256(data),
        bytes: data.length,
        mediaType: 'text/csv',
        kind: 'dataset',
      });
      expect(await store.getBytes(ref)).toEqual(data);
      expect(await readStream(await store.get(ref))).toEqual(data);
      const target = join(scratch, 'nested', 'copy.csv');
      expect(await store.getToFile(ref, target)).toBe(target);
      expect(await readFile(target)).toEqual(data);
    });

    it('stores and verifies an empty object', async () => {
      const ref = await store.put(Buffer.alloc(0), { kind: 'metadata', mediaType: 'application/json' });
      expect(ref).toMatchObject({ bytes: 0, sha256: sha256('') });
      expect(await store.getBytes(ref)).toEqual(Buffer.alloc(0));
      expect(await store.put(Readable.from([]), { kind: 'metadata', mediaType: 'application/json' })).toEqual(
        ref,
      );
      expect(await store.exists(ref)).toBe(true);
    });

    it('gives the same ref for the same bytes as Buffer, Uint8Array, string, stream and file', async () => {
      const text = `scaler ${randomUUID()}\n`.repeat(1000);
      const options = { kind: 'scaler', mediaType: 'application/json', extension: 'json' } as const;
      const fromBuffer = await store.put(Buffer.from(text), options);
      const fromString = await store.put(text, options);
      const fromArray = await store.put(new Uint8Array(Buffer.from(text)), options);
      const halves = [Buffer.from(text.slice(0, 5000)), Buffer.from(text.slice(5000))];
      const fromStream = await store.put(Readable.from(halves), options);
      const file = join(scratch, 'scaler.json');
      await writeFile(file, text);
      const fromFile = await store.put({ filePath: file }, options);
      for (const ref of [fromString, fromArray, fromStream, fromFile]) expect(ref).toEqual(fromBuffer);
      expect(fromBuffer.uri.endsWith('.json')).toBe(true);
      const stored = await store.list(`scaler/sha256/${fromBuffer.sha256}`);
      // Every listing says when each object was written (retention's grace period reads it).
      expect(stored).toEqual([
        { key: keyOf(store, fromBuffer), bytes: Buffer.byteLength(text), modified: writtenAt },
      ]);
    });

    it('lists keys under a prefix, sorted, and nothing else', async () => {
      const tag = randomUUID();
      const refs = await Promise.all(
        ['a', 'b', 'c'].map((v) => store.put(`${tag}-${v}`, { kind: 'report', mediaType: 'text/plain' })),
      );
      const onnx = await store.put(`${tag}-model`, {
        kind: 'onnx',
        mediaType: 'application/onnx',
        extension: '.onnx',
      });
      await store.putDocument(`registry/${tag}/versions/1.json`, '{"version":1}', {
        mediaType: 'application/json',
      });
      await store.putDocument(`registry/${tag}/versions/2.json`, '{"version":2}', {
        mediaType: 'application/json',
      });

      const reports = await store.list('report/');
      const reportKeys = reports.map((o) => o.key);
      for (const ref of refs) expect(reportKeys).toContain(keyOf(store, ref));
      expect(reportKeys).not.toContain(keyOf(store, onnx));
      expect(reportKeys).toEqual([...reportKeys].sort());
      expect(reports.every((o) => o.key.startsWith('report/sha256/'))).toBe(true);

      expect(await store.list(`registry/${tag}/`)).toEqual([
        { key: `registry/${tag}/versions/1.json`, bytes: 13, modified: writtenAt },
        { key: `registry/${tag}/versions/2.json`, bytes: 13, modified: writtenAt },
      ]);
      // A prefix may end in the middle of a segment, as on S3.
      expect((await store.list(`registry/${tag.slice(0, 8)}`)).length).toBeGreaterThanOrEqual(2);
      expect(await store.list(`nothing-here-${tag}/`)).toEqual([]);
      const everything = (await store.list('')).map((o) => o.key);
      expect(everything).toContain(keyOf(store, onnx));
      expect(everything).toContain(`registry/${tag}/versions/2.json`);
      expect(everything.some((k) => k.startsWith('.'))).toBe(false);
    });

    it('answers head and exists', async () => {
      const data = randomBytes(4096);
      const ref = await store.put(data, {
        kind: 'checkpoint',
        mediaType: 'application/octet-stream',
        extension: '.bin',
      });
      expect(await store.head(keyOf(store, ref))).toEqual({
        key: keyOf(store, ref),
        bytes: 4096,
        modified: writtenAt,
      });
      expect(await store.head(`checkpoint/sha256/${'0'.repeat(64)}.bin`)).toBeUndefined();
      expect(await store.exists(ref)).toBe(true);
      const other = sha256(randomBytes(8));
      expect(
        await store.exists({
          ...ref,
          sha256: other,
          uri: `${store.location}/checkpoint/sha256/${other}.bin`,
        }),
      ).toBe(false);
      // Same key, wrong size: not the artifact the ref describes.
      expect(await store.exists({ ...ref, bytes: ref.bytes + 1 })).toBe(false);
    });

    it('marks old bytes stored again as just written, so gc counts them young (issue 28)', async () => {
      // Retention deletes an unneeded object older than its cutoff; a step storing the same bytes
      // again (deduplicated) needs them before its lineage says so, so the put must refresh them.
      const tag = randomUUID();
      const options = { kind: 'checkpoint', mediaType: 'application/octet-stream' } as const;
      const [asBytes, asStream] = [`again as bytes ${tag}`, `again as a stream ${tag}`];
      const refs = [await store.put(asBytes, options), await store.put(asStream, options)];
      const keys = refs.map((ref) => keyOf(store, ref));
      // A cutoff after both first writes on the store's clock, to the whole second (S3 may round down).
      const written = await Promise.all(
        keys.map(async (k) => Date.parse((await store.head(k))?.modified ?? '')),
      );
      let cutoff = Math.floor(Date.now() / 1000) * 1000;
      while (cutoff <= Math.max(...written)) {
        await new Promise((r) => setTimeout(r, cutoff + 1000 - Date.now()));
        cutoff = Math.floor(Date.now() / 1000) * 1000;
      }
      const plan = async () => {
        const objects = await Promise.all(
          refs.map(async (ref) => ({
            ...((await store.list(keyOf(store, ref)))[0] as ObjectInfo),
            sha256: ref.sha256,
          })),
        );
        const now = Date.now();
        return planGarbageCollection(
          { objects, versions: [], documents: [], cacheEntries: [], running: [], finished: [] },
          { now: new Date(now).toISOString(), olderThanMs: now - cutoff, cacheTtlMs: 0, keepLast: 0 },
        );
      };
      expect((await plan()).deleteObjects.map((o) => o.key)).toEqual([...keys].sort());

      // Stored again as bytes and as a stream, the two ways a put finds its bytes stored.
      expect(await store.put(asBytes, options)).toEqual(refs[0]);
      expect(await store.put(Readable.from([Buffer.from(asStream)]), options)).toEqual(refs[1]);
      const after = await plan();
      expect(after.deleteObjects).toEqual([]);
      expect(after.kept.young).toBe(2);
      for (const k of keys)
        expect(Date.parse((await store.head(k))?.modified ?? '')).toBeGreaterThanOrEqual(cutoff);
      expect(await store.getBytes(refs[1] as ArtifactRef)).toEqual(Buffer.from(asStream));
      expect(await backend.leftovers()).toEqual([]);
    });

    it('keeps mutable documents apart from artifacts', async () => {
      const key = `lineage/${randomUUID()}.json`;
      expect(await store.getDocument(key)).toBeUndefined();
      expect(await store.putDocument(key, '{"a":1}')).toBe(true);
      expect(await store.putDocument(key, Buffer.from('{"a":2}'))).toBe(true);
      expect((await store.getDocument(key))?.toString()).toBe('{"a":2}');
      expect(await store.putDocument(key, '{"a":3}', { ifAbsent: true })).toBe(false);
      expect((await store.getDocument(key))?.toString()).toBe('{"a":2}');
      await store.deleteDocument(key);
      await store.deleteDocument(key);
      expect(await store.getDocument(key)).toBeUndefined();
      expect(await store.head(key)).toBeUndefined();

      const artifactKey = `model/sha256/${'a'.repeat(64)}.json`;
      await expect(store.putDocument(artifactKey, 'x')).rejects.toBeInstanceOf(InvalidStoreKeyError);
      await expect(store.deleteDocument(artifactKey)).rejects.toBeInstanceOf(InvalidStoreKeyError);
      for (const bad of ['../escape.json', '/abs.json', 'a//b.json', '.tmp/x', 'a/./b', '']) {
        await expect(store.putDocument(bad, 'x')).rejects.toMatchObject({
          type: 'InvalidStoreKey',
          retryable: false,
        });
      }
    });

    it('detects corrupted bytes of the same size at the end of the stream', async () => {
      const data = randomBytes(300_000);
      const ref = await store.put(data, { kind: 'model', mediaType: 'application/octet-stream' });
      const damaged = Buffer.from(data);
      damaged[150_000] ^= 0xff;
      await backend.writeRaw(keyOf(store, ref), damaged);

      const error = await rejectionOf(readStream(await store.get(ref)));
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect(error).toMatchObject({
        type: 'ChecksumMismatch',
        retryable: false,
        uri: ref.uri,
        expected: { sha256: ref.sha256, bytes: ref.bytes },
        found: { sha256: sha256(damaged), bytes: damaged.length },
      });
      expect((error as Error).message).toContain(ref.uri);
      expect((error as Error).message).toContain(ref.sha256);
      expect((error as Error).message).toContain(sha256(damaged));

      await expect(store.getBytes(ref)).rejects.toBeInstanceOf(ChecksumMismatchError);
      const target = join(scratch, 'damaged.bin');
      await expect(store.getToFile(ref, target)).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect(existsSync(target)).toBe(false);
      expect((await readdir(scratch)).filter((name) => name.includes('damaged'))).toEqual([]);
    });

    it('detects a truncated or extended object', async () => {
      const data = randomBytes(100_000);
      const ref = await store.put(data, { kind: 'evaluation', mediaType: 'application/octet-stream' });
      await backend.writeRaw(keyOf(store, ref), data.subarray(0, 99_000));
      const short = await rejectionOf(store.getBytes(ref));
      expect(short).toBeInstanceOf(ChecksumMismatchError);
      expect(short).toMatchObject({ found: { bytes: 99_000 } });
      await backend.writeRaw(keyOf(store, ref), Buffer.concat([data, Buffer.from('extra')]));
      expect(await rejectionOf(store.getBytes(ref))).toBeInstanceOf(ChecksumMismatchError);
      expect(await store.exists(ref)).toBe(false);
      // Putting the right bytes again repairs the damaged copy.
      expect(await store.put(data, { kind: 'evaluation', mediaType: 'application/octet-stream' })).toEqual(
        ref,
      );
      expect(await store.getBytes(ref)).toEqual(data);
    });

    it('reports a missing object and a reference from another store clearly', async () => {
      const hex = sha256(randomUUID());
      const missing: ArtifactRef = {
        uri: `${store.location}/split/sha256/${hex}`,
        sha256: hex,
        bytes: 10,
        mediaType: 'application/json',
        kind: 'split',
      };
      const notFound = await rejectionOf(store.get(missing));
      expect(notFound).toBeInstanceOf(ArtifactNotFoundError);
      expect(notFound).toMatchObject({ type: 'ArtifactNotFound', retryable: false, uri: missing.uri });
      expect(await store.exists(missing)).toBe(false);
      const foreign = { ...missing, uri: `file:///somewhere/else/split/sha256/${hex}` };
      await expect(store.get(foreign)).rejects.toBeInstanceOf(ArtifactOutsideStoreError);
    });

    it('streams a 50 MB object in and out without holding it in memory', async () => {
      const total = 50 * MiB;
      const putProbe = liveMemoryProbe();
      const source = generatedStream(total, (sent) => putProbe.at(sent));
      const ref = await store.put(source.stream, {
        kind: 'dataset',
        mediaType: 'application/vnd.apache.arrow.file',
        extension: '.arrow',
      });
      const put = putProbe.growth();
      expect(ref.bytes).toBe(total);
      expect(ref.sha256).toBe(source.digest());
      expect(await store.head(keyOf(store, ref))).toEqual({
        key: keyOf(store, ref),
        bytes: total,
        modified: writtenAt,
      });

      const getProbe = liveMemoryProbe();
      expect(await digestStream(getProbe.watch(await store.get(ref)))).toEqual({
        sha256: ref.sha256,
        bytes: total,
      });
      const read = getProbe.growth();

      console.info(
        `[${name}] 50 MB put: live +${(put.liveGrowth / MiB).toFixed(1)} MiB, rss +${(put.rssGrowth / MiB).toFixed(1)} MiB; ` +
          `get: live +${(read.liveGrowth / MiB).toFixed(1)} MiB, rss +${(read.rssGrowth / MiB).toFixed(1)} MiB`,
      );
      // Holding the object would add at least 50 MiB of live memory; streaming stays well below.
      expect(put.liveGrowth).toBeLessThan(40 * MiB);
      expect(read.liveGrowth).toBeLessThan(30 * MiB);
      expect(put.rssGrowth).toBeLessThan(120 * MiB);
      expect(read.rssGrowth).toBeLessThan(120 * MiB);
    });

    it('leaves nothing visible when the body fails halfway', async () => {
      const before = await store.list('');
      const error = await rejectionOf(
        store.put(failingStream(3 * MiB), { kind: 'checkpoint', mediaType: 'application/octet-stream' }),
      );
      expect((error as Error).message).toBe('source died halfway');
      expect(await store.list('')).toEqual(before);
      expect(await backend.leftovers()).toEqual([]);

      // A put refused up front still releases the caller's stream.
      const unread = Readable.from([Buffer.from('never read')]);
      const refused = store.put(unread, { kind: 'report', mediaType: 'text/plain', extension: '.no/pe' });
      await expect(refused).rejects.toBeInstanceOf(InvalidStoreKeyError);
      expect(unread.destroyed).toBe(true);
    });

    it('lets exactly one of 20 concurrent ifAbsent creates win', async () => {
      const key = `registry/fraud-${randomUUID()}/versions/1.json`;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.putDocument(key, JSON.stringify({ writer: i }), {
            ifAbsent: true,
            mediaType: 'application/json',
          }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(JSON.parse((await store.getDocument(key))?.toString() ?? 'null')).toEqual({ writer: winner });
      expect(await backend.leftovers()).toEqual([]);
    });
  });
}

artifactStoreContract('local directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'slipway-local-store-'));
  const store = openArtifactStore(loadConfig({ SLIPWAY_ARTIFACTS: `file://${root}` }));
  expect(store).toBeInstanceOf(LocalArtifactStore);
  return {
    store,
    writeRaw: (key, data) => writeFile(join(root, ...key.split('/')), data),
    leftovers: async () => (existsSync(join(root, '.tmp')) ? readdir(join(root, '.tmp')) : []),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

function s3Env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { s3 } = testServices();
  return {
    SLIPWAY_S3_ENDPOINT: s3.endpoint,
    SLIPWAY_S3_ACCESS_KEY: s3.accessKey,
    SLIPWAY_S3_SECRET_KEY: s3.secretKey,
    SLIPWAY_S3_REGION: s3.region,
    ...extra,
  };
}

artifactStoreContract('S3 (MinIO)', async () => {
  const { bucket } = testServices();
  const prefix = `contract/${randomUUID()}`;
  const config = loadConfig(s3Env({ SLIPWAY_ARTIFACTS: `s3://${bucket}/${prefix}` }));
  const staging = await mkdtemp(join(tmpdir(), 'slipway-s3-staging-'));
  const store = openArtifactStore(config, { stagingDir: staging });
  expect(store).toBeInstanceOf(S3ArtifactStore);
  const raw = createS3Client(config).client;
  return {
    store,
    writeRaw: async (key, data) => {
      await raw.putObject(bucket, `${prefix}/${key}`, data, data.length);
    },
    leftovers: () => readdir(staging),
    cleanup: async () => {
      const keys = (await store.list('')).map((o) => `${prefix}/${o.key}`);
      if (keys.length > 0) await raw.removeObjects(bucket, keys);
      await rm(staging, { recursive: true, force: true });
    },
  };
});

describe('S3 failures become clear, classified errors', () => {
  async function unusedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it('names a missing bucket and says to create it (not retryable)', async () => {
    const bucket = `missing-${randomUUID().slice(0, 8)}`;
    const store = openArtifactStore(loadConfig(s3Env({ SLIPWAY_ARTIFACTS: `s3://${bucket}/p` })));
    for (const call of [
      () => store.put('x', { kind: 'report', mediaType: 'text/plain' }),
      () => store.list(''),
    ]) {
      const error = await rejectionOf(call());
      expect(error).toBeInstanceOf(S3BucketNotFoundError);
      expect(error).toMatchObject({ type: 'S3BucketNotFound', retryable: false, bucket });
      expect((error as Error).message).toContain(`"${bucket}"`);
      expect((error as Error).message).toContain(testServices().s3.endpoint);
      expect((error as Error).message).toMatch(/Create it/);
    }
  });

  it('points at the credential variables when the keys are wrong (not retryable)', async () => {
    const { bucket } = testServices();
    const env = s3Env({ SLIPWAY_ARTIFACTS: `s3://${bucket}/p`, SLIPWAY_S3_SECRET_KEY: 'not-the-secret' });
    const store = openArtifactStore(loadConfig(env));
    const error = await rejectionOf(store.head('anything.json'));
    expect(error).toBeInstanceOf(S3AccessDeniedError);
    expect(error).toMatchObject({ type: 'S3AccessDenied', retryable: false });
    expect((error as Error).message).toContain('SLIPWAY_S3_ACCESS_KEY');

    const wrongUser = openArtifactStore(loadConfig({ ...env, SLIPWAY_S3_ACCESS_KEY: 'nobody' }));
    await expect(wrongUser.getDocument('x.json')).rejects.toBeInstanceOf(S3AccessDeniedError);
  });

  it('marks an unreachable endpoint retryable and names it', async () => {
    const endpoint = `http://127.0.0.1:${await unusedPort()}`;
    const { bucket } = testServices();
    const store = openArtifactStore(
      loadConfig(s3Env({ SLIPWAY_ARTIFACTS: `s3://${bucket}/p`, SLIPWAY_S3_ENDPOINT: endpoint })),
    );
    const error = await rejectionOf(store.putDocument('a.json', '{}'));
    expect(error).toBeInstanceOf(S3UnreachableError);
    expect(error).toMatchObject({ type: 'S3Unreachable', retryable: true, code: 'ECONNREFUSED' });
    expect((error as Error).message).toContain(endpoint);
    expect((error as Error).message).toContain('SLIPWAY_S3_ENDPOINT');
  });

  it('refuses incomplete S3 configuration before any request', () => {
    const { bucket } = testServices();
    const noKeys = loadConfig({
      SLIPWAY_ARTIFACTS: `s3://${bucket}/p`,
      SLIPWAY_S3_ENDPOINT: 'http://127.0.0.1:1',
    });
    expect(() => openArtifactStore(noKeys)).toThrow(StorageConfigError);
    expect(() => openArtifactStore(loadConfig({ SLIPWAY_ARTIFACTS: `s3://${bucket}/p` }))).toThrow(
      /SLIPWAY_S3_ENDPOINT/,
    );
    const badEndpoint = loadConfig(
      s3Env({ SLIPWAY_ARTIFACTS: `s3://${bucket}/p`, SLIPWAY_S3_ENDPOINT: '127.0.0.1:9000' }),
    );
    expect(() => openArtifactStore(badEndpoint)).toThrow(/http:\/\/127\.0\.0\.1:9000/);
    expect(() => openArtifactStore(loadConfig(s3Env({ SLIPWAY_ARTIFACTS: 's3://A_bad_bucket/p' })))).toThrow(
      StorageConfigError,
    );
  });
});

/**
 * Issue 28 on a versioned bucket (MinIO supports S3 versioning): a put of bytes already stored
 * refreshes them by a copy onto themselves, which on such a bucket leaves the previous version
 * behind; objects over one copy request's limit (5 GiB; 5 MiB here, so the path runs without
 * writing gigabytes) are refreshed by a multipart copy of ranges of themselves. Retention finds the
 * older versions and removes them, and deleting an artifact removes every version, not just
 * stacks a delete marker on it.
 */
describe('S3 store on a versioned bucket', () => {
  const bucket = `versioned-${randomUUID().slice(0, 8)}`;
  let config: ReturnType<typeof loadConfig>;
  let raw: S3Connection['client'];
  let store: S3ArtifactStore;
  const options = { kind: 'checkpoint', mediaType: 'application/octet-stream', extension: '.bin' } as const;
  /** Every version and delete marker of the bucket, by store-relative key. */
  const allVersions = () =>
    new Promise<Array<{ key: string; latest: boolean; deleteMarker: boolean }>>((resolve, reject) => {
      const found: Array<{ key: string; latest: boolean; deleteMarker: boolean }> = [];
      const stream = raw.listObjects(bucket, 'p/', true, { IncludeVersion: true });
      stream.on('data', (item) => {
        const v = item as { name: string; isLatest?: unknown; isDeleteMarker?: boolean };
        found.push({
          key: v.name.slice(2),
          latest: String(v.isLatest) === 'true',
          deleteMarker: v.isDeleteMarker === true,
        });
      });
      stream.once('error', reject);
      stream.once('end', () => resolve(found));
    });

  beforeAll(async () => {
    config = loadConfig(s3Env({ SLIPWAY_ARTIFACTS: `s3://${bucket}/p` }));
    raw = createS3Client(config).client;
    await raw.makeBucket(bucket);
    await raw.setBucketVersioning(bucket, { Status: 'Enabled' });
    store = new S3ArtifactStore(createS3Client(config), config.artifactsUri, { maxCopyBytes: 5 * MiB });
  });
  afterAll(async () => {
    const listed = await new Promise<Array<{ name: string; versionId?: string }>>((resolve, reject) => {
      const found: Array<{ name: string; versionId?: string }> = [];
      const stream = raw.listObjects(bucket, '', true, { IncludeVersion: true });
      stream.on('data', (item) => found.push(item as { name: string; versionId?: string }));
      stream.once('error', reject);
      stream.once('end', () => resolve(found));
    });
    if (listed.length > 0)
      await raw.removeObjects(
        bucket,
        listed.map((v) => ({ name: v.name, versionId: v.versionId ?? undefined })),
      );
    await raw.removeBucket(bucket);
  });

  it('refreshes small and over-the-copy-limit objects in place, and gc-style cleanup removes the versions left behind', async () => {
    const small = randomBytes(4096);
    const big = randomBytes(12 * MiB + 123); // three parts of at most 5 MiB
    const refs = [await store.put(small, options), await store.put(big, options)];
    const keys = refs.map((ref) => keyOf(store, ref));
    expect(await store.noncurrentVersions('checkpoint/sha256/')).toEqual([]);

    // Stored again: each refresh is a copy onto itself (the big one in three UploadPartCopy parts).
    expect(await store.put(small, options)).toEqual(refs[0]);
    expect(await store.put(Readable.from([big]), options)).toEqual(refs[1]);
    for (const [i, ref] of refs.entries()) {
      expect(sha256(await store.getBytes(ref))).toBe(ref.sha256); // (toEqual on a 12 MiB buffer takes minutes)
      const stat = await raw.statObject(bucket, `p/${keys[i]}`);
      expect(stat.size).toBe(ref.bytes);
      expect(stat.metaData).toMatchObject({ 'content-type': options.mediaType, sha256: ref.sha256 });
    }
    // The big one was completed from parts: a multipart object's ETag ends in "-<parts>".
    expect((await raw.statObject(bucket, `p/${keys[1]}`)).etag).toMatch(/-3$/);

    // Each refresh left the previous version behind; those are what retention removes.
    const older = await store.noncurrentVersions('checkpoint/sha256/');
    expect(older.map((v) => v.key).sort()).toEqual([...keys].sort());
    expect(older.map((v) => v.bytes).sort((a, b) => a - b)).toEqual([small.length, big.length]);
    await store.deleteVersions(older);
    expect(await store.noncurrentVersions('checkpoint/sha256/')).toEqual([]);
    expect((await allVersions()).filter((v) => keys.includes(v.key))).toEqual(
      keys
        .map((key) => ({ key, latest: true, deleteMarker: false }))
        .sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    for (const ref of refs) expect(sha256(await store.getBytes(ref))).toBe(ref.sha256);
  });

  it("deletes an artifact with all its versions, keeps one written after the cutoff, and leaves others' delete markers alone", async () => {
    const ref = await store.put(randomBytes(1000), options);
    const key = keyOf(store, ref);
    await store.put(await store.getBytes(ref), options); // a second version
    const cutoff = new Date(Date.now() + 60_000).toISOString();
    await store.deleteArtifact(key, { writtenBefore: cutoff });
    // Gone for good: no version, and no delete marker hiding the bytes.
    expect((await allVersions()).filter((v) => v.key === key)).toEqual([]);
    expect(await store.head(key)).toBeUndefined();

    // A version written after the cutoff (stored again while retention decided) stays.
    const again = await store.put(randomBytes(1000), options);
    const againKey = keyOf(store, again);
    await store.deleteArtifact(againKey, { writtenBefore: new Date(Date.now() - 60_000).toISOString() });
    expect(await store.exists(again)).toBe(true);

    // An object someone else deleted (a delete marker over it): its old version is the only copy left, so it stays.
    const other = await store.put(randomBytes(1000), options);
    const otherKey = keyOf(store, other);
    await raw.removeObject(bucket, `p/${otherKey}`);
    expect(await store.head(otherKey)).toBeUndefined();
    expect((await store.noncurrentVersions('checkpoint/sha256/')).map((v) => v.key)).not.toContain(otherKey);
    expect(
      (await allVersions())
        .filter((v) => v.key === otherKey)
        .map((v) => v.deleteMarker)
        .sort(),
    ).toEqual([false, true]);
  });
});

describe('reading arbitrary s3:// objects (data sources)', () => {
  let connection: S3Connection;
  const prefix = `sources/${randomUUID()}`;

  beforeAll(() => {
    connection = createS3Client(loadConfig(s3Env()));
  });
  afterAll(async () => {
    await connection.client.removeObjects(testServices().bucket, [`${prefix}/fraud.csv`]);
  });

  it('opens, stats and reports missing objects by URI', async () => {
    const { bucket } = testServices();
    const csv = 'Time,V1,Amount,Class\n0,0.5,10.0,0\n';
    await connection.client.putObject(bucket, `${prefix}/fraud.csv`, Buffer.from(csv), csv.length);
    const uri = `s3://${bucket}/${prefix}/fraud.csv`;

    const opened = await openS3Object(connection, uri);
    expect(opened.bytes).toBe(csv.length);
    expect((await readStream(opened.body)).toString()).toBe(csv);
    expect(await statS3Object(connection, uri)).toMatchObject({ bytes: csv.length });

    const missing = `s3://${bucket}/${prefix}/nope.csv`;
    expect(await statS3Object(connection, missing)).toBeUndefined();
    const error = await rejectionOf(openS3Object(connection, missing));
    expect(error).toBeInstanceOf(S3ObjectNotFoundError);
    expect(error).toMatchObject({ type: 'S3ObjectNotFound', retryable: false, uri: missing });
    await expect(
      openS3Object(connection, `s3://missing-${randomUUID().slice(0, 8)}/x.csv`),
    ).rejects.toBeInstanceOf(S3BucketNotFoundError);
    await expect(
      statS3Object(connection, `s3://missing-${randomUUID().slice(0, 8)}/x.csv`),
    ).rejects.toBeInstanceOf(S3BucketNotFoundError);
  });
});

describe('local store housekeeping', () => {
  it('sweeps temp files that a crashed writer left long ago, and keeps fresh ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slipway-local-sweep-'));
    try {
      await mkdir(join(root, '.tmp'));
      await writeFile(join(root, '.tmp', 'old.part'), 'half');
      await writeFile(join(root, '.tmp', 'fresh.part'), 'half');
      const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(join(root, '.tmp', 'old.part'), old, old);
      const store = new LocalArtifactStore(root);
      await store.put('x', { kind: 'report', mediaType: 'text/plain' });
      expect(await readdir(join(root, '.tmp'))).toEqual(['fresh.part']);
      expect((await store.list('')).map((o) => o.key)).toEqual([`report/sha256/${sha256('x')}`]);
      expect(store.location).toBe(`file://${root}`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
