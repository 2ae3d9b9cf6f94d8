import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../config/env';
import { StepCache, stepCacheKey } from '../../domain/cache/stepCache';
import { ModelVersionNotFoundError } from '../../domain/registry/errors';
import { ModelRegistry } from '../../domain/registry/registry';
import { artifactRefSchema } from '../../domain/storage/artifactRef';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createS3Client } from '../../domain/storage/s3Client';
import { S3ArtifactStore } from '../../domain/storage/s3Store';
import { testServices } from '../support/services';
import { makeDraft, registerAtOnce, storeArtifacts } from '../unit/registryFixtures';

/** The registry on the real MinIO, where S3 conditional writes (If-None-Match) carry the concurrency. */
describe('model registry on S3 (MinIO)', () => {
  let store: ArtifactStore;
  let cleanup: () => Promise<void>;
  /** Deletes an artifact behind the store's back, as a lifecycle rule or a person might. */
  let removeArtifact: (uri: string) => Promise<void>;

  beforeAll(async () => {
    const { s3, bucket } = testServices();
    const prefix = `registry-test/${randomUUID()}`;
    const config = loadConfig({
      SLIPWAY_S3_ENDPOINT: s3.endpoint,
      SLIPWAY_S3_ACCESS_KEY: s3.accessKey,
      SLIPWAY_S3_SECRET_KEY: s3.secretKey,
      SLIPWAY_S3_REGION: s3.region,
      SLIPWAY_ARTIFACTS: `s3://${bucket}/${prefix}`,
    });
    store = openArtifactStore(config);
    expect(store).toBeInstanceOf(S3ArtifactStore);
    const raw = createS3Client(config).client;
    cleanup = async () => {
      const keys = (await store.list('')).map((o) => `${prefix}/${o.key}`);
      if (keys.length > 0) await raw.removeObjects(bucket, keys);
    };
    removeArtifact = (uri) => raw.removeObject(bucket, new URL(uri).pathname.slice(1));
  });

  afterAll(async () => {
    await cleanup?.();
  });

  it('gives 20 concurrent registrations of one model the versions 1..20, each exactly once', async () => {
    const registry = new ModelRegistry(store);
    const artifacts = await storeArtifacts(store);
    const { results, versions } = await registerAtOnce(
      registry,
      20,
      (i) => `wf-${i}/run/register`,
      (_, version) => makeDraft(artifacts, { runId: `run-for-v${version}` }),
    );
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.every((r) => r.created)).toBe(true);
    expect(await registry.listVersions('fraud')).toEqual(versions);
    for (const result of results) {
      const stored = await registry.getVersion('fraud', result.metadata.version);
      expect(stored).toEqual(result.metadata);
      expect(stored.runId).toBe(`run-for-v${stored.version}`);
    }
    const card = await registry.getModelCard('fraud', 20);
    expect(card).toContain('slipway apply fraud@20');
    expect((await store.getDocument('registry/models/fraud/cards/00000020.md'))?.toString('utf8')).toBe(card);
  });

  it('registers once per idempotency key when attempts with one key overlap', async () => {
    const registry = new ModelRegistry(store);
    const artifacts = await storeArtifacts(store, 'twins');
    const keys = ['a', 'b', 'c', 'd'].map((k) => `wf-${k}/run/register`);
    const results = await Promise.all(
      keys.flatMap((key) =>
        [0, 1, 2].map(() =>
          registry.registerVersion('twins', { idempotencyKey: key, build: makeDraft(artifacts) }),
        ),
      ),
    );
    expect(await registry.listVersions('twins')).toEqual([1, 2, 3, 4]);
    for (const key of keys) {
      const mine = results.filter((r) => r.metadata.registration.idempotencyKey === key);
      expect(new Set(mine.map((r) => r.metadata.version)).size).toBe(1);
      expect(mine.filter((r) => r.created)).toHaveLength(1);
    }
    const retry = await registry.registerVersion('twins', {
      idempotencyKey: keys[2],
      build: makeDraft(artifacts),
    });
    expect(retry.created).toBe(false);
    expect(await registry.listModels()).toEqual(['fraud', 'twins']);
    await expect(registry.getVersion('twins', 9)).rejects.toThrow(ModelVersionNotFoundError);
    await expect(registry.getVersion('twins', 9)).rejects.toThrow('versions 1..4 exist');
  });

  it('keeps step cache entries on S3 and misses once an output is gone', async () => {
    const cache = new StepCache(store);
    const input = await store.put('rows', { kind: 'dataset', mediaType: 'text/csv' });
    const output = {
      scaler: await store.put(randomUUID(), { kind: 'scaler', mediaType: 'application/json' }),
    };
    const key = stepCacheKey({ step: 'fitScaler', codeVersion: 'c', inputs: [input], params: { seed: 1 } });
    const schema = z.object({ scaler: artifactRefSchema });
    expect(await cache.lookup('fitScaler', key, schema)).toMatchObject({ hit: false, reason: 'absent' });
    expect(await cache.record('fitScaler', key, output)).toBe('created');
    expect(await cache.lookup('fitScaler', key, schema)).toEqual({ hit: true, output, origin: undefined });
    await removeArtifact(output.scaler.uri);
    expect(await cache.lookup('fitScaler', key, schema)).toMatchObject({
      hit: false,
      reason: 'artifact-missing',
    });
  });
});
