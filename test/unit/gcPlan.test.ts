import { describe, expect, it } from 'vitest';
import { type GcInventory, type GcPolicy, parseAge, planGarbageCollection } from '../../domain/gc/plan';

const sha = (c: string) => c.repeat(64);
const NOW = '2026-11-30T12:00:00.000Z';
const HOUR = 3_600_000;
const hoursAgo = (h: number) => new Date(Date.parse(NOW) - h * HOUR).toISOString();
const object = (c: string, ageHours: number, kind = 'dataset') => ({
  key: `${kind}/sha256/${sha(c)}.arrow`,
  sha256: sha(c),
  bytes: 10,
  modified: hoursAgo(ageHours),
});
const empty = (): GcInventory => ({
  objects: [],
  versions: [],
  documents: [],
  cacheEntries: [],
  running: [],
  finished: [],
});
const policy = (over: Partial<GcPolicy> = {}): GcPolicy => ({
  now: NOW,
  olderThanMs: HOUR,
  cacheTtlMs: 24 * HOUR,
  keepLast: 0,
  ...over,
});
const deletedShas = (inventory: GcInventory, p = policy()) =>
  planGarbageCollection(inventory, p).deleteObjects.map((o) => o.sha256[0]);

describe('planGarbageCollection', () => {
  it('deletes an old object nothing names and keeps a young one', () => {
    const inv = { ...empty(), objects: [object('a', 5), object('b', 0.5)] };
    const plan = planGarbageCollection(inv, policy());
    expect(plan.deleteObjects.map((o) => o.sha256)).toEqual([sha('a')]);
    expect(plan.kept.young).toBe(1);
    expect(plan.bytesFreed).toBe(10);
  });

  it('never deletes what a registered version needs, however old', () => {
    const inv = {
      ...empty(),
      objects: [object('a', 1000, 'onnx'), object('b', 1000, 'model-card'), object('c', 1000)],
      versions: [{ name: 'fraud', version: 1, refs: [sha('a'), sha('b')] }],
    };
    expect(deletedShas(inv)).toEqual(['c']);
    expect(planGarbageCollection(inv, policy()).kept.version).toBe(2);
  });

  it('keeps what audit records and other documents name', () => {
    const inv = {
      ...empty(),
      objects: [object('a', 100), object('b', 100)],
      documents: [{ key: 'audit/records/0000000001.json', refs: [sha('a')] }],
    };
    expect(deletedShas(inv)).toEqual(['b']);
  });

  it('keeps a live cache entry and its objects; expires an old entry but keeps its objects this time', () => {
    const inv = {
      ...empty(),
      objects: [object('a', 100), object('b', 100), object('c', 100)],
      cacheEntries: [
        { key: 'cache/extract/live.json', recordedAt: hoursAgo(2), refs: [sha('a')] },
        { key: 'cache/extract/old.json', recordedAt: hoursAgo(48), refs: [sha('b')] },
      ],
    };
    const plan = planGarbageCollection(inv, policy());
    expect(plan.deleteCacheEntries).toEqual(['cache/extract/old.json']);
    expect(plan.deleteObjects.map((o) => o.sha256)).toEqual([sha('c')]);
    // The next run, with the expired entry gone, deletes what only it named.
    const next = { ...inv, cacheEntries: inv.cacheEntries.slice(0, 1) };
    expect(deletedShas(next)).toEqual(['b', 'c']);
  });

  it('keeps what a running run read or wrote, and everything written since the oldest running run started', () => {
    const inv = {
      ...empty(),
      // a: an old input the running run read; b: written after it started (an unrecorded checkpoint);
      // c: old and unrelated; d: written before the run started, after the grace.
      objects: [object('a', 500), object('b', 3, 'checkpoint'), object('c', 500), object('d', 6)],
      running: [{ workflowId: 'w', runId: 'r', at: hoursAgo(4), refs: [sha('a')] }],
    };
    const plan = planGarbageCollection(inv, policy({ olderThanMs: 0 }));
    expect(plan.deleteObjects.map((o) => o.sha256[0])).toEqual(['c', 'd']);
    expect(plan.kept).toMatchObject({ running: 1, young: 1 });
    expect(plan.cutoff).toBe(hoursAgo(4));
  });

  it('--keep-last keeps the newest finished runs whole, not older ones', () => {
    const inv = {
      ...empty(),
      objects: [object('a', 100), object('b', 100), object('c', 100)],
      finished: [
        { workflowId: 'new', runId: '1', refs: [sha('a')] },
        { workflowId: 'older', runId: '1', refs: [sha('b')] },
      ],
    };
    expect(deletedShas(inv, policy({ keepLast: 1 }))).toEqual(['b', 'c']);
    expect(deletedShas(inv, policy({ keepLast: 2 }))).toEqual(['c']);
    expect(deletedShas(inv, policy({ keepLast: 0 }))).toEqual(['a', 'b', 'c']);
  });

  it('treats an object of unknown age as young, and an entry of unknown age as live', () => {
    const inv = {
      ...empty(),
      objects: [{ key: `dataset/sha256/${sha('a')}`, sha256: sha('a'), bytes: 1 }],
      cacheEntries: [{ key: 'cache/x/y.json', refs: [] }],
    };
    const plan = planGarbageCollection(inv, policy({ olderThanMs: 0, cacheTtlMs: 0 }));
    expect(plan.deleteObjects).toEqual([]);
    expect(plan.deleteCacheEntries).toEqual([]);
  });

  it('on a versioned bucket removes the older versions of kept objects; a deleted object takes its own along', () => {
    const [kept, old] = [object('a', 100, 'onnx'), object('b', 100)];
    const version = (o: { key: string }, id: string) => ({
      key: o.key,
      versionId: id,
      bytes: 10,
      modified: hoursAgo(200),
    });
    const inv = {
      ...empty(),
      objects: [kept, old],
      noncurrentVersions: [version(kept, 'v2'), version(kept, 'v1'), version(old, 'v1')],
      versions: [{ name: 'fraud', version: 1, refs: [sha('a')] }],
    };
    const plan = planGarbageCollection(inv, policy());
    expect(plan.deleteObjects.map((o) => o.key)).toEqual([old.key]);
    expect(plan.deleteVersions.map((v) => `${v.key}@${v.versionId}`)).toEqual([
      `${kept.key}@v1`,
      `${kept.key}@v2`,
    ]);
    expect(plan.versionBytesFreed).toBe(20);
    expect(planGarbageCollection(empty(), policy()).deleteVersions).toEqual([]);
  });

  it('lists deletions in key order, the same for the same facts', () => {
    const inv = { ...empty(), objects: [object('c', 9), object('a', 9), object('b', 9, 'checkpoint')] };
    const first = planGarbageCollection(inv, policy());
    expect(first.deleteObjects.map((o) => o.key)).toEqual([...first.deleteObjects.map((o) => o.key)].sort());
    expect(planGarbageCollection({ ...inv, objects: [...inv.objects].reverse() }, policy())).toEqual(first);
  });
});

describe('parseAge', () => {
  it('reads seconds, minutes, hours, days and weeks', () => {
    expect(parseAge('90')).toBe(90_000);
    expect(parseAge('30m')).toBe(1_800_000);
    expect(parseAge('12h')).toBe(12 * HOUR);
    expect(parseAge('7d')).toBe(7 * 24 * HOUR);
    expect(parseAge('2w')).toBe(14 * 24 * HOUR);
    expect(parseAge('0s')).toBe(0);
  });
  it('refuses anything else', () => {
    for (const bad of ['', '-1d', '1.5h', '3 days', 'd']) expect(parseAge(bad)).toBeUndefined();
  });
});
