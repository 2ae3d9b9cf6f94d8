import { describe, expect, it } from 'vitest';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { mulberry32 } from '../../domain/random';
import { datasetDrift, driftVerdict } from '../../domain/validation/datasetDrift';
import { countInBins, histogram, quantileOfSorted, sortFloat32 } from '../../domain/validation/distribution';
import {
  categoricalDrift,
  categoryCounts,
  chiSquareUpperTail,
  DriftInputError,
  ksStatistic,
  numericDrift,
  OTHER_CATEGORY,
  psiOfShares,
} from '../../domain/validation/drift';
import { columnProfile } from '../../domain/validation/profile';
import { RowSample } from '../../domain/validation/rowSample';

const FEATURES = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);

/** Sorted float32 feature columns of a synthetic fraud set, `shift` added to one feature. */
function fraudColumns(rows: number, seed: number, shift?: { feature: string; by: number }): Float64Array[] {
  const columns = FEATURES.map(() => new Float64Array(rows));
  const shifted = shift ? FEATURES.indexOf(shift.feature) : -1;
  let i = 0;
  for (const row of syntheticFraudRows({ rows, seed })) {
    for (let j = 0; j < FEATURES.length; j++) {
      (columns[j] as Float64Array)[i] = Math.fround(
        (row[j] as number) + (j === shifted ? (shift?.by ?? 0) : 0),
      );
    }
    i++;
  }
  return columns.map((c) => c.sort());
}

function std(sorted: Float64Array): number {
  const m = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return Math.sqrt(sorted.reduce((a, b) => a + (b - m) ** 2, 0) / sorted.length);
}

describe('drift on the synthetic fraud data', () => {
  const reference = fraudColumns(20_000, 1);

  it('flags exactly the feature shifted by one standard deviation', () => {
    for (const feature of ['V5', 'Amount']) {
      const by = std(reference[FEATURES.indexOf(feature)] as Float64Array);
      const drift = datasetDrift(FEATURES, reference, fraudColumns(10_000, 2, { feature, by }));
      expect(drift.drifted).toEqual([feature]);
      const row = drift.features.find((f) => f.feature === feature);
      expect(row?.psi).toBeGreaterThan(0.25);
      expect(row?.kind === 'numeric' && row.ks).toBeGreaterThan(0.2);
      expect(row?.reason).toMatch(/PSI .* >= 0.25/);
    }
  });

  it('flags none on unshifted data from another seed, every figure finite', () => {
    const drift = datasetDrift(FEATURES, reference, fraudColumns(10_000, 7));
    expect(drift.drifted).toEqual([]);
    for (const f of drift.features) {
      expect(f.kind === 'numeric' && Number.isFinite(f.psi) && Number.isFinite(f.ks)).toBe(true);
      expect(f.psi).toBeLessThan(0.1);
    }
  });
});

describe('drift statistics', () => {
  it('KS is the largest gap between the empirical CDFs, with ties', () => {
    expect(ksStatistic([1, 2, 3, 4], [1, 2, 3, 4])).toBe(0);
    expect(ksStatistic([1, 2], [3, 4])).toBe(1);
    expect(ksStatistic([1, 1, 2, 2], [1, 2, 2, 2])).toBeCloseTo(0.25, 12);
  });

  it('PSI is 0 for equal shares and floors empty bins instead of giving infinity', () => {
    expect(psiOfShares([0.5, 0.5], [0.5, 0.5])).toBe(0);
    const psi = psiOfShares([1, 0], [0, 1]);
    expect(Number.isFinite(psi)).toBe(true);
    expect(psi).toBeGreaterThan(10);
  });

  it('a constant reference column gives finite figures, and a shift off the constant drifts', () => {
    const ref = new Float64Array(500).fill(3);
    const same = numericDrift('c', ref, new Float64Array(500).fill(3));
    expect(same).toMatchObject({ psi: 0, ks: 0, drifted: false, edges: [3] });
    const moved = numericDrift('c', ref, new Float64Array(500).fill(4));
    expect(moved.drifted).toBe(true);
    expect(moved.ks).toBe(1);
  });

  it('one row is reported but not judged, with the reason', () => {
    const ref = Float64Array.from({ length: 1000 }, (_, i) => i);
    const one = numericDrift('x', ref, Float64Array.of(5000));
    expect(one.level).toBe('too-few-rows');
    expect(one.drifted).toBe(false);
    expect(one.reason).toMatch(/1 row on one side/);
    expect(Number.isFinite(one.psi)).toBe(true);
  });

  it('a one-row batch is "not judged" as a whole, never "no drift"', () => {
    const ref = [Float64Array.from({ length: 1000 }, (_, i) => i)];
    const drift = datasetDrift(['x'], ref, [Float64Array.of(5000)]);
    expect(drift.drifted).toEqual([]);
    expect(driftVerdict(drift)).toMatch(/^Not judged: 1 row on one side, and drift is judged from 100 rows/);
    expect(driftVerdict(datasetDrift(['x'], ref, ref))).toBe('No feature drifted.');
  });

  it('an empty side is a clear error', () => {
    expect(() => numericDrift('x', new Float64Array(0), Float64Array.of(1))).toThrow(DriftInputError);
    expect(() => numericDrift('x', Float64Array.of(1), new Float64Array(0))).toThrow(/no current rows/);
  });
});

describe('categorical drift', () => {
  const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it('same shares: PSI 0, chi-square 0, p 1; a changed mix drifts and names unseen categories', () => {
    const same = categoricalDrift('country', counts({ de: 500, fr: 500 }), counts({ de: 250, fr: 250 }));
    expect(same).toMatchObject({ psi: 0, chiSquare: 0, pValue: 1, drifted: false, unseen: [] });
    const moved = categoricalDrift(
      'country',
      counts({ de: 900, fr: 100 }),
      counts({ de: 100, fr: 100, it: 800 }),
    );
    expect(moved.drifted).toBe(true);
    expect(moved.unseen).toEqual(['it']);
    expect(moved.degreesOfFreedom).toBe(2);
    expect(moved.pValue).toBeLessThan(1e-6);
    expect(moved.reason).toMatch(/unseen categories: it/);
  });

  it('chi-square tail matches known quantiles', () => {
    expect(chiSquareUpperTail(3.841, 1)).toBeCloseTo(0.05, 2);
    expect(chiSquareUpperTail(18.307, 10)).toBeCloseTo(0.05, 3);
  });

  it('a million distinct values are pooled past the cap, with bounded memory', () => {
    const ids = (function* () {
      for (let i = 0; i < 1_000_000; i++) yield `id${i}`;
    })();
    const { counts: c, overflowDistinct } = categoryCounts(ids, 1000);
    expect(c.size).toBe(1001);
    expect(c.get(OTHER_CATEGORY)).toBe(999_000);
    expect(overflowDistinct).toBeGreaterThan(1000);
  });

  it('empty cells count as missing', () => {
    expect(categoryCounts(['a', '', undefined, ' ']).counts.get('(missing)')).toBe(3);
  });
});

describe('column profiles', () => {
  it('sorts float32 values like Float64Array#sort, negatives, zeros and extremes included', () => {
    const random = mulberry32(9);
    const values = Float32Array.from(
      { length: 50_000 },
      () => (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6),
    );
    values.set([0, -0, 3.4e38, -3.4e38, 1e-45, -1e-45, 7, 7, 7], 100);
    const sorted = sortFloat32(values);
    expect(Array.from(sorted)).toEqual(Array.from(Float64Array.from(values).sort()));
    expect(sortFloat32(new Float32Array(0))).toEqual(new Float64Array(0));
  });

  it('quantiles interpolate like numpy, histograms cover the range, bins count sorted values', () => {
    const sorted = Float64Array.from([1, 2, 3, 4]);
    expect(quantileOfSorted(sorted, 0.5)).toBe(2.5);
    expect(quantileOfSorted(sorted, 0.25)).toBe(1.75);
    expect(histogram(sorted, 1, 4, 3)).toEqual({ edges: [1, 2, 3, 4], counts: [1, 1, 2] });
    expect(countInBins(sorted, [2, 3])).toEqual([2, 1, 1]);
  });

  it('a constant column is one bin and one distinct value; an empty sample has no quantiles', () => {
    const p = columnProfile(new Float64Array(10).fill(7), 7, 7);
    expect(p.histogram).toEqual({ edges: [7, 7], counts: [10] });
    expect(p.distinctInSample).toBe(1);
    expect(p.quantiles.every((q) => q.value === 7)).toBe(true);
    expect(columnProfile(new Float64Array(0), 0, 0).quantiles).toEqual([]);
  });

  it('the row sample keeps every row up to its capacity and a uniform, repeatable sample beyond', () => {
    const a = new RowSample(1, 1000);
    const b = new RowSample(1, 1000);
    const random = mulberry32(3);
    for (let i = 0; i < 50_000; i++) {
      const v = [random()];
      a.add(v);
      b.add(v);
    }
    expect(a.rowsKept).toBe(1000);
    expect(a.sortedColumn(0)).toEqual(b.sortedColumn(0));
    expect(Math.abs(quantileOfSorted(a.sortedColumn(0), 0.5) - 0.5)).toBeLessThan(0.06);
    const small = new RowSample(2, 1000);
    small.add([2, 1]);
    small.add([1, 2]);
    expect([...small.sortedColumn(0)]).toEqual([1, 2]);
  });
});
