import { createHash, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { AuditLog } from '../../domain/audit/auditLog';
import { recordKey } from '../../domain/audit/layout';
import type { AuditEntry } from '../../domain/audit/record';
import { verifyAuditLog } from '../../domain/audit/verify';
import { modelVersions, sourceArtifacts } from '../../domain/lineage/graph';
import { downstreamLineage, upstreamLineage } from '../../domain/lineage/query';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createS3Client } from '../../domain/storage/s3Client';
import { S3ArtifactStore } from '../../domain/storage/s3Store';
import { testServices } from '../support/services';
import { useTempDir } from '../support/tempStore';
import { recordFraudRun } from '../unit/lineageFixtures';

/**
 * The audit log and lineage on the real MinIO, where S3 conditional writes (If-None-Match: *)
 * carry the concurrency, and where damage is done the way it would be: straight through the S3
 * API, behind the store's back.
 */
let bucket: string;
let raw: Client;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  const services = testServices();
  bucket = services.bucket;
  raw = createS3Client(configFor('probe')).client;
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

function configFor(prefix: string) {
  const { s3 } = testServices();
  return loadConfig({
    SLIPWAY_S3_ENDPOINT: s3.endpoint,
    SLIPWAY_S3_ACCESS_KEY: s3.accessKey,
    SLIPWAY_S3_SECRET_KEY: s3.secretKey,
    SLIPWAY_S3_REGION: s3.region,
    SLIPWAY_ARTIFACTS: `s3://${bucket}/${prefix}`,
  });
}

/** A store on a fresh prefix, and the object name of a store key for the raw client. */
function freshStore(): { store: ArtifactStore; objectName: (key: string) => string } {
  const prefix = `audit-test/${randomUUID()}`;
  const store = openArtifactStore(configFor(prefix));
  expect(store).toBeInstanceOf(S3ArtifactStore);
  cleanups.push(async () => {
    const keys = (await store.list('')).map((o) => `${prefix}/${o.key}`);
    if (keys.length > 0) await raw.removeObjects(bucket, keys);
  });
  return { store, objectName: (key) => `${prefix}/${key}` };
}

async function readObject(name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await raw.getObject(bucket, name)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function entry(i: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    type: 'promotion',
    model: 'fraud',
    version: i + 1,
    actor: `worker-${i}`,
    reason: `promotion ${i}`,
    at: new Date(Date.UTC(2026, 1, 14, 10, 0, i)).toISOString(),
    details: { alias: 'production', to: i + 1 },
    ...overrides,
  };
}

describe('audit log on S3 (MinIO)', () => {
  it('gives 20 concurrent appends from separate writers one contiguous, unforked chain', async () => {
    const { store } = freshStore();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => new AuditLog(store).append(entry(i))),
    );
    expect(results.map((r) => r.record.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const entries = await new AuditLog(store).entries();
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (let i = 1; i < entries.length; i++)
      expect(entries[i].record?.prevHash).toBe(entries[i - 1].record?.hash);
    // Every writer's record is in the chain exactly once.
    expect(new Set(entries.map((e) => e.record?.actor)).size).toBe(20);
    const verdict = await verifyAuditLog(store);
    expect(verdict.problems).toEqual([]);
    expect(verdict).toMatchObject({ ok: true, records: 20, lastSeq: 20, tail: { seq: 20 } });
  });

  it('appends once per idempotency key when retried attempts overlap', async () => {
    const { store } = freshStore();
    const keys = ['a', 'b', 'c', 'd'].map((k) => `wf-${k}/run/promote`);
    const results = await Promise.all(
      keys.flatMap((idempotencyKey, i) =>
        [0, 1, 2].map(() => new AuditLog(store).append(entry(i, { idempotencyKey }))),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(4);
    const entries = await new AuditLog(store).entries();
    expect(entries.map((e) => e.record?.idempotencyKey).sort()).toEqual([...keys].sort());
    expect((await verifyAuditLog(store)).ok).toBe(true);
  });

  describe('verify reports damage done through the S3 API', () => {
    let store: ArtifactStore;
    let objectName: (key: string) => string;
    let artifact: ArtifactRef;

    beforeAll(async () => {
      ({ store, objectName } = freshStore());
      artifact = await store.put('onnx graph bytes '.repeat(100), {
        kind: 'onnx',
        mediaType: 'application/octet-stream',
        extension: '.onnx',
      });
      const log = new AuditLog(store);
      for (let i = 0; i < 8; i++) await log.append(entry(i, i >= 3 ? { artifacts: [artifact] } : {}));
      expect((await verifyAuditLog(store)).ok).toBe(true);
    });

    /** Damages one object, runs verify, puts the original back. */
    async function damaged(name: string, damage: (original: Buffer) => Promise<void>) {
      const original = await readObject(name);
      await damage(original);
      try {
        return await verifyAuditLog(store);
      } finally {
        await raw.putObject(bucket, name, original);
        expect((await verifyAuditLog(store)).ok).toBe(true);
      }
    }

    it('one changed byte of a record', async () => {
      const name = objectName(recordKey(5));
      const verdict = await damaged(name, async (original) => {
        const bytes = Buffer.from(original);
        const at = bytes.indexOf('worker-4');
        bytes[at + 7] = '9'.charCodeAt(0);
        await raw.putObject(bucket, name, bytes);
      });
      expect(verdict.firstBroken).toMatchObject({ seq: 5, problem: 'hash-mismatch' });
    });

    it('a deleted record in the middle', async () => {
      const name = objectName(recordKey(4));
      const verdict = await damaged(name, () => raw.removeObject(bucket, name));
      expect(verdict.firstBroken).toMatchObject({ seq: 4, problem: 'missing-record' });
    });

    it('a deleted last record', async () => {
      const name = objectName(recordKey(8));
      const verdict = await damaged(name, () => raw.removeObject(bucket, name));
      expect(verdict.firstBroken).toMatchObject({ seq: 8, problem: 'missing-record' });
    });

    it('one changed byte of a referenced artifact', async () => {
      const name = objectName(artifact.uri.slice(store.location.length + 1));
      const verdict = await damaged(name, async (original) => {
        const bytes = Buffer.from(original);
        bytes[100] ^= 0x01;
        await raw.putObject(bucket, name, bytes);
      });
      expect(verdict.problems).toHaveLength(1);
      expect(verdict.firstBroken).toMatchObject({ seq: 4, problem: 'artifact-mismatch' });
      expect(verdict.firstBroken?.detail).toContain('referenced by records 4, 5, 6, 7, 8');
    });
  });
});

describe('lineage on S3 (MinIO)', () => {
  const temp = useTempDir('slipway-lineage-s3-', { perFile: true });

  it('follows a registered version back to its source bytes and forward again', async () => {
    const { store } = freshStore();
    const registry = new ModelRegistry(store);
    const sourcePath = join(temp.root, 'transactions.csv');
    const rows = [
      'Time,V1,Amount,Class',
      ...Array.from({ length: 16 }, (_, i) => `${i},${i * 0.5},${i + 3},${i % 4 === 0 ? 1 : 0}`),
    ];
    await writeFile(sourcePath, `${rows.join('\n')}\n`);
    const versions: number[] = [];
    for (const n of [1, 2]) {
      const recorded = await recordFraudRun(store, registry, n, {
        sourcePath,
        workDir: join(temp.root, 'work'),
        extractCached: n === 2,
        trainRetried: n === 1,
      });
      versions.push(recorded.version);
    }
    const bytes = await readFile(sourcePath);
    const upstream = await upstreamLineage(store, 'fraud', versions[0]);
    expect(sourceArtifacts(upstream).map((s) => [s.sha256, s.bytes, s.uri])).toEqual([
      [createHash('sha256').update(bytes).digest('hex'), bytes.length, pathToFileURL(sourcePath).href],
    ]);
    const downstream = await downstreamLineage(store, { uri: pathToFileURL(sourcePath).href });
    expect(modelVersions(downstream)).toEqual(versions.map((version) => ({ name: 'fraud', version })));
  });
});
