import type { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptRegistryDocumentError,
  InvalidModelNameError,
  InvalidModelVersionError,
  InvalidModelVersionMetadataError,
  ModelNotFoundError,
  ModelVersionNotFoundError,
} from '../../domain/registry/errors';
import { cardKey, claimKey, versionKey } from '../../domain/registry/layout';
import { renderModelCard } from '../../domain/registry/modelCard';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import type {
  ArtifactBody,
  ArtifactStore,
  ObjectInfo,
  ObjectVersion,
  PutOptions,
} from '../../domain/storage/artifactStore';
import type { LocalArtifactStore } from '../../domain/storage/localStore';
import { rejectionOf } from '../support/rejection';
import { useTempStore } from '../support/tempStore';
import { makeDraft, registerAtOnce, storeArtifacts } from './registryFixtures';

let store: LocalArtifactStore;
let registry: ModelRegistry;

const temp = useTempStore('slipway-registry-');
beforeEach(() => {
  ({ store } = temp);
  registry = new ModelRegistry(store);
});

describe('version allocation', () => {
  it('numbers versions 1, 2, 3 and reads them back exactly as registered', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    const first = await registry.registerVersion('fraud', { idempotencyKey: 'run-1', build: draft });
    const second = await registry.registerVersion('fraud', { idempotencyKey: 'run-2', build: draft });
    const third = await registry.registerVersion('fraud', { idempotencyKey: 'run-3', build: draft });

    expect([first, second, third].map((r) => [r.metadata.version, r.created])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(first.metadataKey).toBe('registry/models/fraud/versions/00000001.json');
    expect(await registry.listVersions('fraud')).toEqual([1, 2, 3]);
    expect(await registry.getVersion('fraud', 2)).toEqual(second.metadata);
    expect((await registry.latestVersion('fraud')).version).toBe(3);
    expect(second.metadata).toMatchObject({ name: 'fraud', version: 2, ...draft });
    expect(second.metadata.registration.idempotencyKey).toBe('run-2');
  });

  it('gives 20 concurrent registrations of one model the versions 1..20, each exactly once', async () => {
    const artifacts = await storeArtifacts(store);
    const { results, versions } = await registerAtOnce(
      registry,
      20,
      (i) => `run-${i}`,
      (i, version) => makeDraft(artifacts, { workflowId: `wf-${i}`, runId: `run-for-v${version}` }),
    );
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.every((r) => r.created)).toBe(true);
    expect(await registry.listVersions('fraud')).toEqual(versions);
    // Each stored document belongs to the registration that won it, built for that very number.
    for (const result of results) {
      const stored = await registry.getVersion('fraud', result.metadata.version);
      expect(stored.registration.idempotencyKey).toBe(result.metadata.registration.idempotencyKey);
      expect(stored.runId).toBe(`run-for-v${stored.version}`);
    }
  });

  it('keeps models apart: each has its own numbering', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    await registry.registerVersion('fraud', { idempotencyKey: 'a', build: draft });
    await registry.registerVersion('fraud', { idempotencyKey: 'b', build: draft });
    const other = await registry.registerVersion('fraud2', { idempotencyKey: 'a', build: draft });
    expect(other.metadata.version).toBe(1);
    expect(await registry.listModels()).toEqual(['fraud', 'fraud2']);
    expect(await registry.listVersions('fraud')).toEqual([1, 2]);
  });

  it('passes the candidate number to build and refuses an invalid draft before writing anything', async () => {
    const artifacts = await storeArtifacts(store);
    const seen: number[] = [];
    await registry.registerVersion('fraud', {
      idempotencyKey: 'k',
      build: (version) => {
        seen.push(version);
        return makeDraft(artifacts);
      },
    });
    expect(seen).toEqual([1]);

    const bad = await rejectionOf(
      registry.registerVersion('fraud', {
        idempotencyKey: 'k2',
        build: makeDraft(artifacts, { features: ['V1', 'V1'], threshold: 2 }),
      }),
    );
    expect(bad).toBeInstanceOf(InvalidModelVersionMetadataError);
    expect(bad.type).toBe('InvalidModelVersionMetadata');
    expect(bad.retryable).toBe(false);
    expect(bad.message).toMatch(/features\.1: feature "V1" is listed twice/);
    expect(bad.message).toMatch(/threshold/);
    expect(await registry.listVersions('fraud')).toEqual([1]);
  });
});

describe('idempotency', () => {
  it('returns the version an earlier attempt with the same key registered, without a second one', async () => {
    const artifacts = await storeArtifacts(store);
    const first = await registry.registerVersion('fraud', {
      idempotencyKey: 'wf-1/run-1/register',
      build: makeDraft(artifacts),
    });
    // The retry builds a different draft (later time): the committed version wins, unchanged.
    const retry = await registry.registerVersion('fraud', {
      idempotencyKey: 'wf-1/run-1/register',
      build: makeDraft(artifacts, { createdAt: '2026-02-14T11:00:00Z' }),
    });
    expect(retry.created).toBe(false);
    expect(retry.metadata).toEqual(first.metadata);
    const next = await registry.registerVersion('fraud', {
      idempotencyKey: 'wf-2/run-1/register',
      build: makeDraft(artifacts),
    });
    expect(next.metadata.version).toBe(2);
    expect(await registry.listVersions('fraud')).toEqual([1, 2]);
    expect((await registry.findByIdempotencyKey('fraud', 'wf-1/run-1/register'))?.version).toBe(1);
    expect(await registry.findByIdempotencyKey('fraud', 'never-used')).toBeUndefined();
  });

  it('registers once per key when attempts with the same key run at the same time', async () => {
    const artifacts = await storeArtifacts(store);
    const keys = Array.from({ length: 6 }, (_, i) => `wf-${i}/run/register`);
    // Three simultaneous attempts per key (a retried activity whose first attempt is still running).
    const attempts = keys.flatMap((key) =>
      [0, 1, 2].map(() =>
        registry.registerVersion('fraud', { idempotencyKey: key, build: makeDraft(artifacts) }),
      ),
    );
    const results = await Promise.all(attempts);

    expect(await registry.listVersions('fraud')).toEqual([1, 2, 3, 4, 5, 6]);
    for (const key of keys) {
      const mine = results.filter((r) => r.metadata.registration.idempotencyKey === key);
      expect(mine).toHaveLength(3);
      expect(new Set(mine.map((r) => r.metadata.version)).size).toBe(1);
      expect(mine.filter((r) => r.created)).toHaveLength(1);
    }
  });

  it('refuses an empty idempotency key', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    const error = await rejectionOf(registry.registerVersion('fraud', { idempotencyKey: '', build: draft }));
    expect(error).toBeInstanceOf(InvalidModelVersionMetadataError);
    expect(error.message).toMatch(/idempotency key/);
  });
});

type Fault = { op: 'put' | 'putDocument'; match: (key: string) => boolean; when: 'before' | 'after' };

/** The real local store, with one simulated process death (an exception) at a chosen write. */
class CrashingStore implements ArtifactStore {
  crashed = false;
  constructor(
    private readonly inner: ArtifactStore,
    private readonly fault: Fault,
  ) {}
  get location() {
    return this.inner.location;
  }
  private hits(op: Fault['op'], key: string, when: Fault['when']): boolean {
    if (this.crashed || this.fault.op !== op || this.fault.when !== when || !this.fault.match(key))
      return false;
    this.crashed = true;
    return true;
  }
  async put(body: ArtifactBody, options: PutOptions): Promise<ArtifactRef> {
    if (this.hits('put', options.kind, 'before')) throw new Error('simulated crash');
    const ref = await this.inner.put(body, options);
    if (this.hits('put', options.kind, 'after')) throw new Error('simulated crash');
    return ref;
  }
  async putDocument(
    key: string,
    body: Buffer | string,
    options?: { ifAbsent?: boolean; mediaType?: string },
  ) {
    if (this.hits('putDocument', key, 'before')) throw new Error('simulated crash');
    const created = await this.inner.putDocument(key, body, options);
    if (this.hits('putDocument', key, 'after')) throw new Error('simulated crash');
    return created;
  }
  get(ref: ArtifactRef): Promise<Readable> {
    return this.inner.get(ref);
  }
  getBytes(ref: ArtifactRef): Promise<Buffer> {
    return this.inner.getBytes(ref);
  }
  getToFile(ref: ArtifactRef, filePath: string): Promise<string> {
    return this.inner.getToFile(ref, filePath);
  }
  exists(ref: ArtifactRef): Promise<boolean> {
    return this.inner.exists(ref);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }
  deleteArtifact(key: string, options?: { writtenBefore?: string }): Promise<void> {
    return this.inner.deleteArtifact(key, options);
  }
  noncurrentVersions(prefix: string): Promise<ObjectVersion[]> {
    return this.inner.noncurrentVersions(prefix);
  }
  deleteVersions(versions: readonly ObjectVersion[]): Promise<void> {
    return this.inner.deleteVersions(versions);
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }
  getDocument(key: string): Promise<Buffer | undefined> {
    return this.inner.getDocument(key);
  }
  deleteDocument(key: string): Promise<void> {
    return this.inner.deleteDocument(key);
  }
}

describe('a crash at any point never leaves a half-registered version, and the retry completes it', () => {
  const isVersionDoc = (key: string) => key.includes('/versions/');
  const cases: Array<{ name: string; fault: Fault; visibleAfterCrash: boolean }> = [
    {
      name: 'before the card is stored',
      fault: { op: 'put', match: (k) => k === 'model-card', when: 'before' },
      visibleAfterCrash: false,
    },
    {
      name: 'before the claim',
      fault: { op: 'putDocument', match: (k) => k.includes('/runs/'), when: 'before' },
      visibleAfterCrash: false,
    },
    {
      name: 'before the commit',
      fault: { op: 'putDocument', match: isVersionDoc, when: 'before' },
      visibleAfterCrash: false,
    },
    {
      name: 'right after the commit',
      fault: { op: 'putDocument', match: isVersionDoc, when: 'after' },
      visibleAfterCrash: true,
    },
    {
      name: 'before the card copy',
      fault: { op: 'putDocument', match: (k) => k.includes('/cards/'), when: 'before' },
      visibleAfterCrash: true,
    },
  ];

  for (const { name, fault, visibleAfterCrash } of cases) {
    it(name, async () => {
      const draft = makeDraft(await storeArtifacts(store));
      const crashing = new CrashingStore(store, fault);
      await expect(
        new ModelRegistry(crashing).registerVersion('fraud', {
          idempotencyKey: 'wf/run/register',
          build: draft,
        }),
      ).rejects.toThrow('simulated crash');
      expect(crashing.crashed).toBe(true);

      if (visibleAfterCrash) {
        // Committed means whole: the metadata validates and its card is readable.
        const committed = await registry.getVersion('fraud', 1);
        expect(committed.registration.idempotencyKey).toBe('wf/run/register');
        expect(await registry.getModelCard('fraud', 1)).toContain('# Model card: fraud version 1');
      } else {
        expect(await registry.listModels()).toEqual([]);
        expect(await rejectionOf(registry.listVersions('fraud'))).toBeInstanceOf(ModelNotFoundError);
      }

      // The retried activity: same key, healthy store.
      const retry = await registry.registerVersion('fraud', {
        idempotencyKey: 'wf/run/register',
        build: draft,
      });
      expect(retry.metadata.version).toBe(1);
      expect(retry.created).toBe(!visibleAfterCrash);
      expect(await registry.listVersions('fraud')).toEqual([1]);
      const copy = await store.getDocument(cardKey('fraud', 1));
      expect(copy?.toString('utf8')).toBe(await registry.getModelCard('fraud', 1));
    });
  }

  it('ignores a claim whose number another registration won after the crash', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    const crashing = new CrashingStore(store, { op: 'putDocument', match: isVersionDoc, when: 'before' });
    await expect(
      new ModelRegistry(crashing).registerVersion('fraud', { idempotencyKey: 'crashed', build: draft }),
    ).rejects.toThrow('simulated crash');
    expect(await store.head(claimKey('fraud', 'crashed', 1))).toBeDefined();

    const other = await registry.registerVersion('fraud', { idempotencyKey: 'other', build: draft });
    expect(other.metadata.version).toBe(1);
    const retry = await registry.registerVersion('fraud', { idempotencyKey: 'crashed', build: draft });
    expect(retry).toMatchObject({ created: true, metadata: { version: 2 } });
  });

  it('does not list a card that has no version document', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    await registry.registerVersion('fraud', { idempotencyKey: 'one', build: draft });
    // What a writer that stored the card copy first and died before its commit would leave.
    await store.putDocument(cardKey('fraud', 2), renderModelCard({ name: 'fraud', version: 2, ...draft }));
    await store.putDocument(cardKey('ghost', 1), renderModelCard({ name: 'ghost', version: 1, ...draft }));

    expect(await registry.listVersions('fraud')).toEqual([1]);
    expect((await registry.latestVersion('fraud')).version).toBe(1);
    expect(await registry.listModels()).toEqual(['fraud']);
    const missing = await rejectionOf(registry.getVersion('fraud', 2));
    expect(missing).toBeInstanceOf(ModelVersionNotFoundError);
    // And the next registration takes 2, as if the stray card were not there.
    const next = await registry.registerVersion('fraud', { idempotencyKey: 'two', build: draft });
    expect(next.metadata.version).toBe(2);
    expect((await store.getDocument(cardKey('fraud', 2)))?.toString('utf8')).toContain('version 2');
  });
});

describe('names and lookups', () => {
  it.each([
    ['../etc', /its namespace must start with a lowercase letter or a digit/],
    ['..', /must start with a lowercase letter or a digit/],
    ['a/b/c', /more than one "\/"/],
    ['risk/../etc', /more than one "\/"/],
    ['risk/', /its model part is empty/],
    ['/fraud', /its namespace is empty/],
    ['Risk/fraud', /namespace contains uppercase letters \(use "risk"\)/],
    ['Fraud', /uppercase letters \(use "fraud"\)/],
    ['', /it is empty/],
    ['x'.repeat(129), /129 characters long/],
    ['-fraud', /must start with/],
    ['fraud@2', /contains "@"/],
    ['fraud model', /contains " "/],
  ])('refuses the model name %j', async (name, why) => {
    const error = await rejectionOf(registry.listVersions(name));
    expect(error).toBeInstanceOf(InvalidModelNameError);
    expect(error.type).toBe('InvalidModelName');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(why);
    const draft = makeDraft(await storeArtifacts(store));
    expect(
      await rejectionOf(registry.registerVersion(name, { idempotencyKey: 'k', build: draft })),
    ).toBeInstanceOf(InvalidModelNameError);
  });

  it.each(['fraud', 'card-fraud_v2', '0day', 'a.b', 'x'.repeat(128), 'risk/fraud', 'models/versions'])(
    'accepts the model name %j',
    async (name) => {
      const draft = makeDraft(await storeArtifacts(store));
      const result = await registry.registerVersion(name, { idempotencyKey: 'k', build: draft });
      expect(result.metadata.name).toBe(name);
      expect(await registry.listModels()).toEqual([name]);
    },
  );

  it('keeps a namespaced model apart from a default-namespace model of the same name', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    await registry.registerVersion('fraud', { idempotencyKey: 'a', build: draft });
    await registry.registerVersion('risk/fraud', { idempotencyKey: 'b', build: draft });
    await registry.registerVersion('risk/fraud', { idempotencyKey: 'c', build: draft });
    // A namespace named like a model cannot reach into that model's folder.
    await registry.registerVersion('fraud/versions', { idempotencyKey: 'd', build: draft });
    expect(await registry.listModels()).toEqual(['fraud', 'fraud/versions', 'risk/fraud']);
    expect(await registry.listVersions('fraud')).toEqual([1]);
    expect(await registry.listVersions('risk/fraud')).toEqual([1, 2]);
    expect(versionKey('risk/fraud', 2)).toBe('registry/namespaces/risk/models/fraud/versions/00000002.json');
  });

  it('says which models exist when a model is unknown', async () => {
    expect((await rejectionOf(registry.latestVersion('fraud'))).message).toMatch(
      /No model "fraud" in the registry at file:\/\/.*\(the registry is empty\)/,
    );
    const draft = makeDraft(await storeArtifacts(store));
    await registry.registerVersion('churn', { idempotencyKey: 'k', build: draft });
    await registry.registerVersion('fraud-v2', { idempotencyKey: 'k', build: draft });
    const error = await rejectionOf(registry.getVersion('fraud', 1));
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.type).toBe('ModelNotFound');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/registered models: "churn", "fraud-v2"/);
  });

  it('says which versions exist when a version is unknown', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    for (const key of ['a', 'b', 'c'])
      await registry.registerVersion('fraud', { idempotencyKey: key, build: draft });
    const error = await rejectionOf(registry.getVersion('fraud', 7));
    expect(error).toBeInstanceOf(ModelVersionNotFoundError);
    expect(error.type).toBe('ModelVersionNotFound');
    expect(error.message).toBe(
      'Model "fraud" has no version 7; versions 1..3 exist. Pick one of those, or use the latest (3).',
    );
    const zero = await rejectionOf(registry.getVersion('fraud', 0));
    expect(zero).toBeInstanceOf(InvalidModelVersionError);
    expect(zero.message).toMatch(/whole numbers from 1/);
  });

  it('reports a damaged metadata document by its key', async () => {
    const draft = makeDraft(await storeArtifacts(store));
    const { metadata } = await registry.registerVersion('fraud', { idempotencyKey: 'a', build: draft });
    await store.putDocument(versionKey('fraud', 2), '{"name": "fraud", "vers');
    await store.putDocument(
      versionKey('fraud', 3),
      JSON.stringify({ ...metadata, version: 3, threshold: 'high' }),
    );
    await store.putDocument(versionKey('fraud', 4), JSON.stringify(metadata));

    const notJson = await rejectionOf(registry.getVersion('fraud', 2));
    expect(notJson).toBeInstanceOf(CorruptRegistryDocumentError);
    expect(notJson.type).toBe('CorruptRegistryDocument');
    expect(notJson.message).toContain(
      'registry/models/fraud/versions/00000002.json is damaged: it is not JSON',
    );
    expect((await rejectionOf(registry.getVersion('fraud', 3))).message).toMatch(
      /00000003\.json is damaged: threshold:/,
    );
    expect((await rejectionOf(registry.latestVersion('fraud'))).message).toMatch(
      /00000004\.json is damaged: it describes fraud version 1, not fraud version 4/,
    );
  });
});
