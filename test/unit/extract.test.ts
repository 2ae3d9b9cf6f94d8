import { createHash } from 'node:crypto';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../../domain/data/errors';
import { DEFAULT_CREATED_BY, extractDataset } from '../../domain/data/extract';
import { readSnapshot } from '../../domain/data/snapshot';
import { parseDatasetSummary } from '../../domain/data/summary';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { useTempStore } from '../support/tempStore';

const GOOD = resolve(__dirname, '../fixtures/csv/good');

const temp = useTempStore('slipway-data-extract-', 'artifacts', { perFile: true });

function extract(source: string, more: Partial<Parameters<typeof extractDataset>[0]> = {}) {
  return extractDataset({ source, store: temp.store, workDir: join(temp.root, 'work'), ...more });
}

describe('extractDataset on good CSV files', () => {
  it('round-trips a CSV through the snapshot exactly, with a summary that matches a hand computation', async () => {
    const path = join(GOOD, 'basic.csv');
    const result = await extract(path);
    const m = readSnapshot(await temp.store.getBytes(result.snapshot));
    expect(m).toMatchObject({ features: ['a', 'b'], target: 'Class', nRows: 8, nCols: 2 });
    expect(Array.from(m.x)).toEqual([1, 2, 2, 4, 3, 4, 4, 4, 5, 5, 6, 5, 7, 7, 8, 9]);
    expect(Array.from(m.y)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);

    const summary = parseDatasetSummary(await temp.store.getBytes(result.summary));
    expect(summary).toEqual(result.summaryDoc);
    expect(summary).toMatchObject({
      createdBy: DEFAULT_CREATED_BY,
      sourceUri: pathToFileURL(path).href,
      rows: 8,
      target: 'Class',
      features: ['a', 'b'],
      classCounts: { negative: 4, positive: 4 },
      positiveRate: 0.5,
      constantFeatures: [],
      snapshotSha256: result.snapshot.sha256,
      snapshotFormat: 'arrow-ipc-file',
    });
    // a = 1..8: mean 4.5, population variance (8^2 - 1) / 12 = 5.25.
    expect(summary.columns[0]).toMatchObject({ name: 'a', min: 1, max: 8, mean: 4.5 });
    expect(summary.columns[0]?.std).toBeCloseTo(Math.sqrt(5.25), 14);
    // b = 2,4,4,4,5,5,7,9: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, variance 4, std 2.
    expect(summary.columns[1]).toMatchObject({ name: 'b', min: 2, max: 9, mean: 5, std: 2 });
    // The profile: every row is in the sample (8 < its capacity), quantiles interpolate like numpy.
    expect(summary.profileSampleRows).toBe(8);
    const b = summary.columns[1]?.profile;
    expect(b).toMatchObject({ type: 'float32', missingRate: 0, distinctInSample: 5 });
    expect(b?.quantiles.find((q) => q.p === 0.5)?.value).toBe(4.5);
    expect(b?.quantiles.find((q) => q.p === 0.25)?.value).toBe(4);
    expect(b?.histogram.edges).toHaveLength(21);
    expect(b?.histogram.edges[0]).toBe(2);
    expect(b?.histogram.edges[20]).toBe(9);
    expect(b?.histogram.counts.reduce((x, y) => x + y, 0)).toBe(8);
    expect(result.snapshot).toMatchObject({
      kind: 'dataset',
      mediaType: 'application/vnd.apache.arrow.file',
    });
    expect(result.summary).toMatchObject({ kind: 'dataset-summary', mediaType: 'application/json' });
  });

  it('hashes the source bytes exactly as read', async () => {
    const path = join(GOOD, 'quoted-crlf-bom.csv');
    const { readFile } = await import('node:fs/promises');
    const raw = await readFile(path);
    const { summaryDoc } = await extract(path);
    expect(summaryDoc.sourceSha256).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(summaryDoc.sourceBytes).toBe(raw.length);
  });

  it('reads quotes, doubled quotes, CRLF, a BOM, blank lines, padded cells and an explicit feature order', async () => {
    const result = await extract(join(GOOD, 'quoted-crlf-bom.csv'), { features: ['y "quoted"', 'x, raw'] });
    const m = readSnapshot(await temp.store.getBytes(result.snapshot));
    expect(m.features).toEqual(['y "quoted"', 'x, raw']);
    expect(Array.from(m.x)).toEqual([-2, 1.5, 40, 3, 0.25, 5, 6, 7]);
    expect(Array.from(m.y)).toEqual([0, 1, 0, 1]);
  });

  it('accepts true/false (any case) and 1.0 as a binary target', async () => {
    const result = await extract(join(GOOD, 'boolean-target.csv'), { target: 'label' });
    const m = readSnapshot(await temp.store.getBytes(result.snapshot));
    expect(Array.from(m.y)).toEqual([1, 0, 1, 0, 1]);
    expect(result.summaryDoc.classCounts).toEqual({ negative: 2, positive: 3 });
  });

  it('lists constant features in the summary without failing', async () => {
    const result = await extract(join(GOOD, 'constant-column.csv'));
    expect(result.summaryDoc.constantFeatures).toEqual(['k']);
    expect(result.summaryDoc.columns[1]).toMatchObject({ name: 'k', min: 3, max: 3, mean: 3, std: 0 });
    // A constant column: one histogram bin holding every row, one distinct value, no NaN anywhere.
    const k = result.summaryDoc.columns[1]?.profile;
    expect(k?.histogram).toEqual({ edges: [3, 3], counts: [result.summaryDoc.rows] });
    expect(k?.distinctInSample).toBe(1);
    expect(JSON.stringify(result.summaryDoc)).not.toMatch(/NaN|null/);
  });

  it('summarises the stored float32 values, not the float64 text', async () => {
    const path = join(temp.root, 'float32.csv');
    await writeFile(path, 'a,Class\n0.1,0\n0.1,1\n0.1,0\n0.1,1\n');
    const { summaryDoc } = await extract(path);
    expect(summaryDoc.columns[0]).toMatchObject({ min: Math.fround(0.1), max: Math.fround(0.1), std: 0 });
  });

  it('gives byte-identical artifacts for the same bytes under any name, so a retry stores nothing new', async () => {
    const copy = join(temp.root, 'copy of basic.csv');
    await copyFile(join(GOOD, 'basic.csv'), copy);
    const first = await extract(join(GOOD, 'basic.csv'));
    const again = await extract(join(GOOD, 'basic.csv'));
    const other = await extract(copy);
    expect(again.snapshot).toEqual(first.snapshot);
    expect(again.summary).toEqual(first.summary);
    // Same data, another file: the snapshot dedupes; the summary differs only by its source URI.
    expect(other.snapshot).toEqual(first.snapshot);
    expect(other.summaryDoc.sourceUri).toBe(pathToFileURL(copy).href);
    expect(other.summaryDoc.sourceUri).toContain('copy%20of%20basic.csv');
    expect({ ...other.summaryDoc, sourceUri: '' }).toEqual({ ...first.summaryDoc, sourceUri: '' });
    const snapshots = (await temp.store.list('')).filter((o) =>
      o.key.endsWith(`${first.snapshot.sha256}.arrow`),
    );
    expect(snapshots).toHaveLength(1);
  });

  it('accepts file:// URIs and relative paths (resolved against cwd)', async () => {
    const byUri = await extract(pathToFileURL(join(GOOD, 'basic.csv')).href);
    const byRelative = await extract('basic.csv', { cwd: GOOD });
    expect(byRelative.summary).toEqual(byUri.summary);
  });

  it('records the createdBy it is given', async () => {
    const { summaryDoc } = await extract(join(GOOD, 'basic.csv'), { createdBy: 'slipway 9.9.9+abc' });
    expect(summaryDoc.createdBy).toBe('slipway 9.9.9+abc');
  });
});

describe('extractDataset on the synthetic source', () => {
  it('snapshots exactly the generated rows; the source hash is that of the generated CSV text', async () => {
    const rows = [...syntheticFraudRows({ rows: 3000, seed: 3 })];
    const csv = `${SYNTHETIC_FRAUD_COLUMNS.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
    const result = await extract('synthetic:fraud?seed=3&rows=3000');
    expect(result.summaryDoc.sourceUri).toBe('synthetic:fraud?rows=3000&seed=3');
    expect(result.summaryDoc.sourceSha256).toBe(createHash('sha256').update(csv).digest('hex'));
    const m = readSnapshot(await temp.store.getBytes(result.snapshot));
    expect(m.features).toEqual(SYNTHETIC_FRAUD_COLUMNS.slice(0, 30));
    expect(m.nRows).toBe(3000);
    expect(Array.from(m.y)).toEqual(rows.map((r) => r[30]));
    expect(Array.from(m.x.subarray(0, 30))).toEqual(rows[0]?.slice(0, 30).map(Math.fround));
    expect(Array.from(m.x.subarray(2999 * 30))).toEqual(rows[2999]?.slice(0, 30).map(Math.fround));
    const positives = rows.filter((r) => r[30] === 1).length;
    expect(result.summaryDoc.classCounts).toEqual({ negative: 3000 - positives, positive: positives });

    // The same CSV as a file gives the same snapshot and the same source hash.
    const path = join(temp.root, 'synthetic.csv');
    await writeFile(path, csv);
    const fromFile = await extract(path);
    expect(fromFile.snapshot).toEqual(result.snapshot);
    expect(fromFile.summaryDoc.sourceSha256).toBe(result.summaryDoc.sourceSha256);
  });

  it('writes more than one record batch, reporting progress per batch', async () => {
    const progress: number[] = [];
    const result = await extract('synthetic:fraud?rows=70000&seed=5', {
      onProgress: (p) => progress.push(p.rows),
    });
    expect(progress).toEqual([65_536, 70_000]);
    const m = readSnapshot(await temp.store.getBytes(result.snapshot));
    expect(m.nRows).toBe(70_000);
    expect(m.y.reduce((a, b) => a + b, 0)).toBe(result.summaryDoc.classCounts.positive);
  });
});

describe('failures leave nothing behind', () => {
  it('no scratch file and no stored object after a late failure', async () => {
    const path = join(temp.root, 'late.csv');
    await writeFile(path, `a,Class\n${'1,0\n2,1\n'.repeat(40_000)}x,1\n`);
    const before = await temp.store.list('');
    const err = await extract(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err).toMatchObject({ type: 'NonNumericValue', details: { row: 80_002, column: 'a' } });
    expect(await temp.store.list('')).toEqual(before);
    expect(await readdir(join(temp.root, 'work'))).toEqual([]);
  });

  it('stops when the abort signal fires', async () => {
    const controller = new AbortController();
    const before = await temp.store.list('');
    const run = extract('synthetic:fraud?rows=200000&seed=9', {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('cancelled by test')),
    });
    await expect(run).rejects.toThrow('cancelled by test');
    expect(await temp.store.list('')).toEqual(before);
    expect(await readdir(join(temp.root, 'work'))).toEqual([]);
  });
});
