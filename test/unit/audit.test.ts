import { createHash } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../domain/audit/auditLog';
import { AuditLogCorruptError, InvalidAuditEntryError } from '../../domain/audit/errors';
import { HEAD_KEY, recordKey } from '../../domain/audit/layout';
import {
  type AuditEntry,
  type AuditRecord,
  auditRecordHash,
  GENESIS_HASH,
  serializeAuditRecord,
} from '../../domain/audit/record';
import { verifyAuditLog } from '../../domain/audit/verify';
import { canonicalJson } from '../../domain/cache/canonicalJson';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import type { LocalArtifactStore } from '../../domain/storage/localStore';
import { rejectionOf } from '../support/rejection';
import { useTempStore } from '../support/tempStore';

let root: string;
let store: LocalArtifactStore;
let log: AuditLog;

const temp = useTempStore('slipway-audit-');
beforeEach(() => {
  ({ root, store } = temp);
  log = new AuditLog(store);
});

const pathOf = (key: string) => join(root, ...key.split('/'));
const keyOf = (ref: ArtifactRef) => ref.uri.slice(store.location.length + 1);

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    type: 'promotion',
    model: 'fraud',
    version: 1,
    actor: 'alice',
    reason: 'beats the champion on recall',
    at: '2026-02-14T10:11:12.000Z',
    details: { alias: 'champion', from: null, to: 1 },
    ...overrides,
  };
}

/** A registration, a gate decision and a promotion about one version, the first two citing its artifacts. */
/** Three records, then record `seq` rewritten with `change` and its hash recomputed (a self-consistent forgery); the verdict. */
async function verifyForged(seq: number, change: Partial<AuditRecord>) {
  const { records } = await threeRecords();
  const forged = { ...(records[seq - 1] as AuditRecord), ...change };
  await writeFile(pathOf(recordKey(seq)), serializeAuditRecord({ ...forged, hash: auditRecordHash(forged) }));
  return verifyAuditLog(store);
}

async function threeRecords(): Promise<{ onnx: ArtifactRef; model: ArtifactRef; records: AuditRecord[] }> {
  const onnx = await store.put('onnx graph bytes', {
    kind: 'onnx',
    mediaType: 'application/octet-stream',
    extension: '.onnx',
  });
  const model = await store.put('model weights', {
    kind: 'model',
    mediaType: 'application/json',
    extension: '.json',
  });
  const records = [
    (
      await log.append(
        entry({ type: 'registration', reason: undefined, details: {}, artifacts: [onnx, model] }),
      )
    ).record,
    (
      await log.append(
        entry({
          type: 'gate-decision',
          actor: 'slipway',
          details: { blessed: true, recall: 0.89 },
          artifacts: [onnx],
        }),
      )
    ).record,
    (await log.append(entry())).record,
  ];
  return { onnx, model, records };
}

describe('appending', () => {
  it('numbers records from 1 and chains each onto the hash of the one before', async () => {
    const { records } = await threeRecords();
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0].prevHash).toBe(GENESIS_HASH);
    expect(records[1].prevHash).toBe(records[0].hash);
    expect(records[2].prevHash).toBe(records[1].hash);
    for (const record of records) {
      const { hash, ...rest } = record;
      expect(hash).toBe(createHash('sha256').update(canonicalJson(rest)).digest('hex'));
      // Stored as exactly one byte string: canonical JSON and a newline.
      expect(await readFile(pathOf(recordKey(record.seq)), 'utf8')).toBe(`${canonicalJson(record)}\n`);
    }
    expect(JSON.parse(await readFile(pathOf(HEAD_KEY), 'utf8'))).toEqual({ seq: 3, hash: records[2].hash });
    expect(records[2]).toMatchObject({ type: 'promotion', model: 'fraud', version: 1, actor: 'alice' });
  });

  it('appends once per idempotency key, returning the committed record to a retry', async () => {
    const first = await log.append(entry({ idempotencyKey: 'wf-1/run-1/promote' }));
    await log.append(entry({ actor: 'bob' }));
    const retry = await log.append(
      entry({ idempotencyKey: 'wf-1/run-1/promote', at: '2026-02-14T10:15:00.000Z' }),
    );
    expect(first.created).toBe(true);
    expect(retry).toEqual({ record: first.record, created: false });
    expect((await log.entries()).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('keeps the chain contiguous and unforked under 20 concurrent appends, and dedupes overlapping twins', async () => {
    const appends = Array.from({ length: 20 }, (_, i) =>
      log.append(entry({ actor: `user-${i}`, idempotencyKey: `key-${i % 10}` })),
    );
    const results = await Promise.all(appends);
    expect(results.filter((r) => r.created)).toHaveLength(10);
    // Twins with one key got the same record back.
    for (let i = 0; i < 10; i++) expect(results[i].record).toEqual(results[i + 10].record);
    const entries = await log.entries();
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.record?.idempotencyKey)).size).toBe(10);
    const verdict = await verifyAuditLog(store);
    expect(verdict.problems).toEqual([]);
    expect(verdict).toMatchObject({ ok: true, records: 10, lastSeq: 10 });
  });

  it('continues at the true end when HEAD.json lags or is gone', async () => {
    const { records } = await threeRecords();
    await writeFile(pathOf(HEAD_KEY), `${JSON.stringify({ seq: 1, hash: records[0].hash })}\n`);
    const fourth = await log.append(entry({ actor: 'carol' }));
    expect(fourth.record).toMatchObject({ seq: 4, prevHash: records[2].hash });
    await unlink(pathOf(HEAD_KEY));
    const fifth = await log.append(entry({ actor: 'dave' }));
    expect(fifth.record).toMatchObject({ seq: 5, prevHash: fourth.record.hash });
    expect((await verifyAuditLog(store)).ok).toBe(true);
  });

  it('refuses to chain onto a record it cannot read, naming the key', async () => {
    await threeRecords();
    await writeFile(pathOf(HEAD_KEY), '{"seq":2,');
    await writeFile(pathOf(recordKey(3)), 'not json');
    const error = await rejectionOf(log.append(entry()));
    expect(error).toBeInstanceOf(AuditLogCorruptError);
    expect(error.message).toContain('audit/records/0000000003.json');
    expect(error.message).toContain('slipway audit verify');
    expect(error.retryable).toBe(false);
  });

  it.each([
    ['no actor', { actor: '' }, 'actor'],
    ['a time without zone', { at: '2026-02-14 10:11' }, 'at'],
    ['a promotion without version', { version: undefined }, 'version'],
    ['a version without model', { type: 'schedule-change' as const, model: undefined }, 'model'],
    ['an unknown field', { approver: 'x' } as Partial<AuditEntry>, 'approver'],
    ['an unknown type', { type: 'deletion' } as unknown as Partial<AuditEntry>, 'type'],
  ])('rejects an entry with %s', async (_what, overrides, field) => {
    const error = await rejectionOf(log.append(entry(overrides)));
    expect(error).toBeInstanceOf(InvalidAuditEntryError);
    expect(error.message).toContain(field);
    expect(error.type).toBe('InvalidAuditEntry');
    expect(await store.list('audit/')).toEqual([]);
  });

  it('rejects details JSON cannot hold faithfully', async () => {
    const error = await rejectionOf(log.append(entry({ details: { recall: Number.NaN } })));
    expect(error).toBeInstanceOf(InvalidAuditEntryError);
    expect(error.message).toContain('$.details.recall');
  });

  it('allows a schedule change without a model', async () => {
    const { record } = await log.append({
      type: 'schedule-change',
      actor: 'ops',
      at: '2026-02-14T10:11:12Z',
      details: { schedule: 'nightly-fraud', cron: '0 3 * * *' },
    });
    expect(record.model).toBeUndefined();
    expect((await verifyAuditLog(store)).ok).toBe(true);
  });
});

describe('reading', () => {
  it('filters by model and keeps damaged slots visible in a filtered view', async () => {
    await threeRecords();
    await log.append(entry({ model: 'churn' }));
    await log.append(entry({ model: 'fraud', version: 2, type: 'rollback' }));
    expect((await log.entries({ model: 'churn' })).map((e) => e.seq)).toEqual([4]);
    expect((await log.entries({ model: 'fraud', last: 2 })).map((e) => e.seq)).toEqual([3, 5]);
    await writeFile(pathOf(recordKey(4)), 'garbage');
    const fraud = await log.entries({ model: 'fraud' });
    expect(fraud.map((e) => [e.seq, e.problem?.type])).toEqual([
      [1, undefined],
      [2, undefined],
      [3, undefined],
      [4, 'unparseable'],
      [5, undefined],
    ]);
  });
});

describe('verify', () => {
  it('accepts an intact log and re-hashes each referenced artifact once', async () => {
    await threeRecords();
    const verdict = await verifyAuditLog(store);
    expect(verdict).toMatchObject({
      ok: true,
      records: 3,
      lastSeq: 3,
      artifactsChecked: 2,
      problems: [],
      warnings: [],
    });
    expect(verdict.firstBroken).toBeUndefined();
    expect(verdict.tail?.seq).toBe(3);
  });

  it('accepts an empty log', async () => {
    expect(await verifyAuditLog(store)).toMatchObject({ ok: true, records: 0, lastSeq: 0, problems: [] });
  });

  it('reports a change of any single byte of a record at that record', async () => {
    await threeRecords();
    const path = pathOf(recordKey(2));
    const original = await readFile(path);
    const kinds = new Set<string>();
    // Every position, so no byte (a digit of the hash, a quote, the final newline) escapes.
    for (let i = 0; i < original.length; i++) {
      const damaged = Buffer.from(original);
      damaged[i] = damaged[i] === 0x20 ? 0x09 : damaged[i] ^ 0x01;
      await writeFile(path, damaged);
      const verdict = await verifyAuditLog(store, { checkArtifacts: false });
      expect(verdict.ok, `byte ${i}`).toBe(false);
      expect(verdict.firstBroken?.seq, `byte ${i}: ${verdict.firstBroken?.detail}`).toBe(2);
      kinds.add(verdict.firstBroken?.problem ?? '');
    }
    await writeFile(path, original);
    expect((await verifyAuditLog(store)).ok).toBe(true);
    // The byte flips exercised several checks, not one catch-all.
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['hash-mismatch', 'unparseable']));
  });

  it('reports whitespace added to a record, which JSON.parse alone would not notice', async () => {
    await threeRecords();
    const path = pathOf(recordKey(1));
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('{"actor"', '{ "actor"'));
    const verdict = await verifyAuditLog(store);
    expect(verdict.firstBroken).toMatchObject({ seq: 1, problem: 'not-canonical' });
  });

  it('reports a deleted record in the middle as missing at its number', async () => {
    await threeRecords();
    await unlink(pathOf(recordKey(2)));
    const verdict = await verifyAuditLog(store);
    expect(verdict.firstBroken).toMatchObject({ seq: 2, problem: 'missing-record', key: recordKey(2) });
    expect(verdict.records).toBe(2);
  });

  it('reports a deleted first record', async () => {
    await threeRecords();
    await unlink(pathOf(recordKey(1)));
    expect((await verifyAuditLog(store)).firstBroken).toMatchObject({ seq: 1, problem: 'missing-record' });
  });

  it('reports a deleted last record through HEAD.json', async () => {
    await threeRecords();
    await unlink(pathOf(recordKey(3)));
    const verdict = await verifyAuditLog(store);
    expect(verdict.firstBroken).toMatchObject({ seq: 3, problem: 'missing-record' });
    expect(verdict.firstBroken?.detail).toContain('record 3 was deleted');
  });

  it('reports a record replaced with a self-consistent one at the link it breaks', async () => {
    const verdict = await verifyForged(2, { actor: 'mallory' });
    expect(verdict.firstBroken).toMatchObject({ seq: 3, problem: 'prev-link' });
    expect(verdict.firstBroken?.detail).toContain('record 2');
  });

  it('reports a rewritten last record through the hash HEAD.json kept', async () => {
    expect((await verifyForged(3, { reason: 'nothing to see' })).firstBroken).toMatchObject({
      seq: 3,
      problem: 'head-mismatch',
    });
  });

  it('reports a record moved to another number', async () => {
    await threeRecords();
    await writeFile(pathOf(recordKey(3)), await readFile(pathOf(recordKey(2))));
    expect((await verifyAuditLog(store)).firstBroken).toMatchObject({ seq: 3, problem: 'misplaced' });
  });

  it('needs an outside witness to catch a truncation that also rewrote HEAD.json', async () => {
    const { records } = await threeRecords();
    const witnessed = { seq: 3, hash: records[2].hash };
    await unlink(pathOf(recordKey(3)));
    await writeFile(pathOf(HEAD_KEY), `${JSON.stringify({ seq: 2, hash: records[1].hash })}\n`);
    // The documented limit: whoever can write the store can cut the tail and fix HEAD.json.
    expect((await verifyAuditLog(store)).ok).toBe(true);
    const verdict = await verifyAuditLog(store, { expectedHead: witnessed });
    expect(verdict.firstBroken).toMatchObject({ seq: 3, problem: 'missing-record' });
  });

  it('reports one changed byte of a referenced artifact at the first record citing it', async () => {
    const { onnx, model } = await threeRecords();
    const path = pathOf(keyOf(onnx));
    const bytes = await readFile(path);
    bytes[3] ^= 0x20;
    await writeFile(path, bytes);
    const verdict = await verifyAuditLog(store);
    expect(verdict.problems).toHaveLength(1);
    expect(verdict.firstBroken).toMatchObject({ seq: 1, problem: 'artifact-mismatch' });
    expect(verdict.firstBroken?.detail).toContain(onnx.sha256);
    expect(verdict.firstBroken?.detail).toContain('referenced by records 1, 2');
    await unlink(pathOf(keyOf(model)));
    const again = await verifyAuditLog(store);
    expect(again.problems.map((p) => [p.seq, p.problem])).toEqual([
      [1, 'artifact-mismatch'],
      [1, 'artifact-missing'],
    ]);
  });

  it('warns, without failing, when HEAD.json is missing', async () => {
    await threeRecords();
    await unlink(pathOf(HEAD_KEY));
    const verdict = await verifyAuditLog(store);
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([expect.stringContaining('HEAD.json is missing')]);
  });

  it('reports an unreadable HEAD.json without a sequence number', async () => {
    await threeRecords();
    await writeFile(pathOf(HEAD_KEY), '{"seq":');
    const verdict = await verifyAuditLog(store);
    expect(verdict.firstBroken).toMatchObject({ key: HEAD_KEY, problem: 'unparseable' });
    expect(verdict.firstBroken?.seq).toBeUndefined();
  });
});
