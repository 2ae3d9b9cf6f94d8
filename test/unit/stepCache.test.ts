import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { canonicalJson, NonCanonicalValueError } from '../../domain/cache/canonicalJson';
import {
  artifactRefsIn,
  StepCache,
  StepCacheError,
  stepCacheEntryKey,
  stepCacheKey,
} from '../../domain/cache/stepCache';
import { type ArtifactRef, artifactRefSchema } from '../../domain/storage/artifactRef';
import type { LocalArtifactStore } from '../../domain/storage/localStore';
import { useTempStore } from '../support/tempStore';

let store: LocalArtifactStore;
let cache: StepCache;
let dataset: ArtifactRef;

const temp = useTempStore('slipway-cache-');
beforeEach(async () => {
  ({ store } = temp);
  cache = new StepCache(store);
  dataset = await store.put('Time,V1,Class\n0,1.5,0\n', {
    kind: 'dataset',
    mediaType: 'text/csv',
    extension: '.csv',
  });
});

const scalerOutput = z.object({
  scaler: artifactRefSchema,
  train: artifactRefSchema,
  rows: z.number().int(),
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined properties', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ é: 1, e: 2, Z: 3 })).toBe('{"Z":3,"e":2,"é":1}');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson(1e21)).toBe('1e+21');
  });

  it.each([
    [{ lr: Number.NaN }, /\$\.lr: NaN has no JSON form/],
    [{ a: [1, undefined] }, /\$\.a\[1\]: a undefined has no JSON form/],
    [{ when: new Date(0) }, /\$\.when: a Date is not plain JSON data/],
    [{ big: 1n }, /a bigint has no JSON form/],
  ])('refuses %o instead of hashing something else', (value, why) => {
    expect(() => canonicalJson(value)).toThrow(NonCanonicalValueError);
    expect(() => canonicalJson(value)).toThrow(why);
  });

  it('refuses cycles', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow(/refers back to itself/);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe('stepCacheKey', () => {
  const base = () => ({
    step: 'fitScaler',
    codeVersion: 'slipway 0.1.0+abc',
    inputs: [dataset],
    params: { features: ['Time', 'V1'], target: 'Class', split: { testFraction: 0.25, seed: 42 } },
  });

  it('is a stable sha256 that ignores key order and where the inputs are stored', () => {
    const key = stepCacheKey(base());
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(
      stepCacheKey({
        params: { split: { seed: 42, testFraction: 0.25 }, target: 'Class', features: ['Time', 'V1'] },
        inputs: [{ ...dataset, uri: 's3://elsewhere/dataset/copy.csv' }],
        codeVersion: 'slipway 0.1.0+abc',
        step: 'fitScaler',
      }),
    ).toBe(key);
  });

  it('changes with the step, the code version, the inputs, their order and every parameter', async () => {
    const key = stepCacheKey(base());
    const other = await store.put('other bytes', { kind: 'scaler', mediaType: 'application/json' });
    const variants = [
      { ...base(), step: 'train' },
      { ...base(), codeVersion: 'slipway 0.1.0+def' },
      { ...base(), inputs: [other] },
      { ...base(), inputs: [dataset, other] },
      { ...base(), inputs: [other, dataset] },
      { ...base(), params: { ...base().params, split: { testFraction: 0.25, seed: 43 } } },
      { ...base(), params: { ...base().params, features: ['V1', 'Time'] } },
      { ...base(), params: null },
    ];
    const keys = variants.map(stepCacheKey);
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('refuses bad step names and inputs that are not references', () => {
    expect(() => stepCacheKey({ ...base(), step: '../x' })).toThrow(StepCacheError);
    expect(() => stepCacheKey({ ...base(), codeVersion: '' })).toThrow(/codeVersion/);
    expect(() => stepCacheKey({ ...base(), inputs: [{ uri: 'x' } as unknown as ArtifactRef] })).toThrow(
      /inputs\[0\] is not an artifact reference/,
    );
    expect(() => stepCacheEntryKey('fitScaler', 'abc')).toThrow(/64 lowercase hex/);
  });
});

describe('StepCache', () => {
  async function fitScalerOutput() {
    const scaler = await store.put('{"mean":[0],"std":[1]}', {
      kind: 'scaler',
      mediaType: 'application/json',
    });
    const train = await store.put('scaled rows', { kind: 'split', mediaType: 'application/octet-stream' });
    return { scaler, train, rows: 1 };
  }
  const keyFor = (params: unknown) =>
    stepCacheKey({ step: 'fitScaler', codeVersion: 'c1', inputs: [dataset], params });

  it('misses, then hits with the recorded output and who recorded it', async () => {
    const key = keyFor({ seed: 1 });
    expect(await cache.lookup('fitScaler', key, scalerOutput)).toMatchObject({
      hit: false,
      reason: 'absent',
    });

    const output = await fitScalerOutput();
    const origin = { workflowId: 'wf-1', runId: 'r-1', recordedAt: '2026-02-14T10:00:00Z' };
    expect(await cache.record('fitScaler', key, output, { origin })).toBe('created');
    expect(await store.head(`cache/fitScaler/${key}.json`)).toBeDefined();

    expect(await cache.lookup('fitScaler', key, scalerOutput)).toEqual({ hit: true, output, origin });
    // Another key (other parameters) is still a miss.
    expect((await cache.lookup('fitScaler', keyFor({ seed: 2 }), scalerOutput)).hit).toBe(false);
  });

  it('keeps the first entry while it is usable', async () => {
    const key = keyFor({ seed: 1 });
    const first = await fitScalerOutput();
    await cache.record('fitScaler', key, first);
    const second = { ...first, rows: 2 };
    expect(await cache.record('fitScaler', key, second, { schema: scalerOutput })).toBe('kept');
    expect(await cache.lookup('fitScaler', key, scalerOutput)).toMatchObject({ hit: true, output: first });
  });

  it('treats an entry whose artifact is gone as a miss, and a new record replaces it', async () => {
    const key = keyFor({ seed: 1 });
    const output = await fitScalerOutput();
    await cache.record('fitScaler', key, output);
    await rm(fileURLToPath(output.train.uri));

    const lookup = await cache.lookup('fitScaler', key, scalerOutput);
    expect(lookup).toMatchObject({ hit: false, reason: 'artifact-missing' });
    expect(lookup.hit === false && lookup.detail).toContain(output.train.uri);

    const fresh = {
      ...output,
      train: await store.put('scaled rows v2', { kind: 'split', mediaType: 'x/y' }),
    };
    expect(await cache.record('fitScaler', key, fresh)).toBe('replaced');
    expect(await cache.lookup('fitScaler', key, scalerOutput)).toMatchObject({ hit: true, output: fresh });
  });

  it('treats an entry that does not match the output schema, or is damaged, as a miss', async () => {
    const key = keyFor({ seed: 1 });
    await cache.record('fitScaler', key, { something: 'else' });
    const lookup = await cache.lookup('fitScaler', key, scalerOutput);
    expect(lookup).toMatchObject({ hit: false, reason: 'invalid' });
    expect(lookup.hit === false && lookup.detail).toMatch(/does not match the step's output schema: scaler:/);

    await store.putDocument(stepCacheEntryKey('fitScaler', key), '{"schemaVersion":1,');
    expect(await cache.lookup('fitScaler', key, scalerOutput)).toMatchObject({
      hit: false,
      reason: 'invalid',
    });
    expect(await cache.record('fitScaler', key, await fitScalerOutput())).toBe('replaced');
    expect((await cache.lookup('fitScaler', key, scalerOutput)).hit).toBe(true);
  });

  it('treats references into another store as missing', async () => {
    const key = keyFor({ seed: 1 });
    const output = await fitScalerOutput();
    await cache.record('fitScaler', key, {
      ...output,
      scaler: { ...output.scaler, uri: 's3://other/scaler/x' },
    });
    expect(await cache.lookup('fitScaler', key, scalerOutput)).toMatchObject({
      hit: false,
      reason: 'artifact-missing',
    });
  });

  it('finds references at any depth of an output', async () => {
    const output = await fitScalerOutput();
    const nested = { a: [output.scaler, { deep: { ref: output.train } }], note: 'x', n: 3 };
    expect(artifactRefsIn(nested)).toEqual([output.scaler, output.train]);
    expect(artifactRefsIn(null)).toEqual([]);
  });
});
