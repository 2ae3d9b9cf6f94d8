import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../domain/audit/auditLog';
import { verifyAuditLog } from '../../domain/audit/verify';
import { StepCache, stepCacheKey } from '../../domain/cache/stepCache';
import { executeGcPlan, OBJECTS_PER_RECORD } from '../../domain/gc/execute';
import { collectGcInventory } from '../../domain/gc/inventory';
import { planGarbageCollection } from '../../domain/gc/plan';
import { useTempStore } from '../support/tempStore';

/** Retention against a real local store: what is read, decided, recorded and deleted. */
describe('gc on a local store', () => {
  const temp = useTempStore('slipway-gc-');
  const at = '2026-11-30T00:00:00.000Z';

  it('records every deletion in the audit log before deleting, and the chain still verifies', async () => {
    const { store } = temp;
    const kept = await store.put('named by an audit record', { kind: 'report', mediaType: 'text/plain' });
    await new AuditLog(store).append({
      type: 'cancellation',
      actor: 'carol',
      at,
      details: { workflowId: 'w' },
      artifacts: [kept],
    });
    const orphans = await Promise.all(
      Array.from({ length: OBJECTS_PER_RECORD + 5 }, (_, i) =>
        store.put(`orphan ${i}`, { kind: 'checkpoint', mediaType: 'application/octet-stream' }),
      ),
    );
    const cache = new StepCache(store);
    const key = stepCacheKey({ step: 'extract', codeVersion: 'v1', inputs: [], params: { a: 1 } });
    await cache.record(
      'extract',
      key,
      { snapshot: orphans[0] },
      { origin: { recordedAt: '2026-01-01T00:00:00Z' } },
    );

    const inventory = await collectGcInventory(store, { running: [], keepLast: 0 });
    const plan = planGarbageCollection(inventory, {
      now: '2030-01-01T00:00:00Z',
      olderThanMs: 0,
      cacheTtlMs: 0,
      keepLast: 0,
    });
    // The expired entry goes; the object it named stays this time.
    expect(plan.deleteCacheEntries).toEqual([`cache/extract/${key}.json`]);
    expect(plan.deleteObjects).toHaveLength(orphans.length - 1);
    const done = await executeGcPlan(store, plan, { actor: 'carol', at, reason: 'test', runKey: 'gc-1/r' });
    expect(done.auditSeqs).toHaveLength(3);
    for (const o of plan.deleteObjects) expect(await store.head(o.key)).toBeUndefined();
    expect(await store.exists(kept)).toBe(true);
    expect(await store.exists(orphans[0] as (typeof orphans)[number])).toBe(true);
    expect((await verifyAuditLog(store)).ok).toBe(true);

    // The same plan again (a retried activity) appends nothing new.
    await executeGcPlan(store, plan, { actor: 'carol', at, reason: 'test', runKey: 'gc-1/r' });
    expect((await new AuditLog(store).entries()).length).toBe(4);
    // The next run deletes what only the expired entry named.
    const next = planGarbageCollection(await collectGcInventory(store, { running: [], keepLast: 0 }), {
      now: '2030-01-01T00:00:00Z',
      olderThanMs: 0,
      cacheTtlMs: 0,
      keepLast: 0,
    });
    expect(next.deleteObjects.map((o) => o.sha256)).toEqual([orphans[0]?.sha256]);
  });

  it('keeps a planned object that a put stored again after the store was read', async () => {
    const { store, root } = temp;
    const options = { kind: 'checkpoint', mediaType: 'application/octet-stream' } as const;
    const [again, gone] = await Promise.all([
      store.put('stored again', options),
      store.put('not again', options),
    ]);
    // Both an hour old: unneeded and past a one-minute grace period.
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const ref of [again, gone])
      await utimes(join(root, ...ref.uri.slice(store.location.length + 1).split('/')), hourAgo, hourAgo);
    const plan = planGarbageCollection(await collectGcInventory(store, { running: [], keepLast: 0 }), {
      now: new Date().toISOString(),
      olderThanMs: 60_000,
      cacheTtlMs: 0,
      keepLast: 0,
    });
    expect(plan.deleteObjects.map((o) => o.sha256).sort()).toEqual([again.sha256, gone.sha256].sort());

    // A step stores the same bytes between the reading and the deletion, before its lineage.
    expect(await store.put('stored again', options)).toEqual(again);
    const done = await executeGcPlan(store, plan, { actor: 'carol', at, reason: 'test', runKey: 'gc-2/r' });
    expect(done.deleted.map((o) => o.sha256)).toEqual([gone.sha256]);
    expect(done.rewritten).toBe(1);
    expect(await store.getBytes(again)).toEqual(Buffer.from('stored again'));
    expect(await store.exists(gone)).toBe(false);
    // Only what went is in the audit log.
    const recorded = (await new AuditLog(store).entries()).flatMap(
      (e) => (e.record?.details.objects as Array<{ sha256: string }> | undefined) ?? [],
    );
    expect(recorded.map((o) => o.sha256)).toEqual([gone.sha256]);
  });

  it('refuses to delete a document as an artifact, or an artifact as a document', async () => {
    const { store } = temp;
    await expect(store.deleteArtifact('registry/models/x/versions/00000001.json')).rejects.toThrow(
      /not a content-addressed/,
    );
    const ref = await store.put('x', { kind: 'onnx', mediaType: 'application/octet-stream' });
    await expect(store.deleteDocument(ref.uri.slice(store.location.length + 1))).rejects.toThrow(
      /content-addressed/,
    );
  });
});
