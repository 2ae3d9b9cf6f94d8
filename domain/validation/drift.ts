import { countInBins, quantileOfSorted } from './distribution';

/**
 * Drift between a reference sample (the data a model was trained on) and a current one, per
 * feature. Pure functions over sorted Float64Arrays and category counts; no NaN for any input.
 *
 * Numeric features:
 * - PSI (population stability index) over bins cut at the reference's deciles (q0.1 ... q0.9,
 *   repeated edges merged, so a column with many ties has fewer bins; the outer bins are open, so
 *   values beyond the reference's range land in them). PSI = sum (c - r) ln(c / r) over the bins'
 *   shares, each share floored at PSI_SHARE_FLOOR so an empty bin is a large term, not infinity.
 * - The two-sample Kolmogorov-Smirnov statistic D = max |F_ref(x) - F_cur(x)| (exact, over the
 *   samples' empirical distribution functions).
 * Categorical features: PSI over the categories, and Pearson's chi-square on the 2 x K table.
 *
 * Thresholds (DEFAULT_DRIFT_THRESHOLDS): PSI < 0.1 stable, 0.1-0.25 moderate, >= 0.25 drifted (the
 * usual credit-scoring reading); a numeric feature also drifts when D exceeds both 0.1 and the
 * KS critical value at alpha = 0.001 (c(alpha) sqrt((n + m) / (n m)), c = 1.949), so a large
 * sample's tiny but significant shift is not called drift, nor a small sample's noise.
 */
export interface DriftThresholds {
  /** PSI at or above which a feature has drifted. */
  psiDrift: number;
  /** PSI at or above which a feature is reported as moderately shifted (not flagged). */
  psiWarn: number;
  /** Smallest KS D that counts as drift, whatever the sample sizes. */
  ksMin: number;
  /** c(alpha) of the KS critical value; 1.949 is alpha = 0.001. */
  ksC: number;
  /** Below this many rows on either side a feature is reported but never flagged. */
  minRows: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  psiDrift: 0.25,
  psiWarn: 0.1,
  ksMin: 0.1,
  ksC: 1.949,
  minRows: 100,
};

/** Interior reference deciles used as PSI bin edges. */
export const PSI_EDGE_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
/** A bin's share is at least this in the PSI sum (an empty bin would make ln(0)). */
export const PSI_SHARE_FLOOR = 1e-4;

export type DriftLevel = 'stable' | 'moderate' | 'drifted' | 'too-few-rows';

export interface NumericDrift {
  feature: string;
  kind: 'numeric';
  referenceRows: number;
  currentRows: number;
  psi: number;
  ks: number;
  ksCritical: number;
  /** PSI bin edges (the reference's deciles, repeats merged). */
  edges: number[];
  referenceShares: number[];
  currentShares: number[];
  referenceMean: number;
  currentMean: number;
  level: DriftLevel;
  drifted: boolean;
  /** Why it is flagged, or why it cannot be judged; empty when stable. */
  reason: string;
}

export interface CategoricalDrift {
  feature: string;
  kind: 'categorical';
  referenceRows: number;
  currentRows: number;
  psi: number;
  chiSquare: number;
  degreesOfFreedom: number;
  /** Upper tail of the chi-square distribution (Wilson-Hilferty approximation). */
  pValue: number;
  /** Categories of the current data the reference never had. */
  unseen: string[];
  level: DriftLevel;
  drifted: boolean;
  reason: string;
}

export type FeatureDrift = NumericDrift | CategoricalDrift;

export class DriftInputError extends Error {
  readonly type = 'DriftInputError';
}

function shares(counts: readonly number[], total: number): number[] {
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/** PSI of two share vectors over the same bins, each share floored at PSI_SHARE_FLOOR. */
export function psiOfShares(reference: readonly number[], current: readonly number[]): number {
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(PSI_SHARE_FLOOR, reference[i] as number);
    const c = Math.max(PSI_SHARE_FLOOR, current[i] as number);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/** Two-sample KS statistic of ascending samples (ties handled: both CDFs step past a value together). */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return 0;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = Math.min(a[i] as number, b[j] as number);
    while (i < n && (a[i] as number) <= x) i++;
    while (j < m && (b[j] as number) <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return d;
}

export function ksCriticalValue(n: number, m: number, c = DEFAULT_DRIFT_THRESHOLDS.ksC): number {
  if (n === 0 || m === 0) return 1;
  return Math.min(1, c * Math.sqrt((n + m) / (n * m)));
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  return values.length > 0 ? s / values.length : 0;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(3);

/** Drift of one numeric feature; both samples ascending and free of NaN (snapshot values are). */
export function numericDrift(
  feature: string,
  reference: Float64Array,
  current: Float64Array,
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): NumericDrift {
  if (reference.length === 0 || current.length === 0) {
    throw new DriftInputError(
      `${feature}: cannot compare with ${reference.length === 0 ? 'an empty reference' : 'no current rows'}; ` +
        'drift needs at least one row on each side.',
    );
  }
  const edges: number[] = [];
  for (const p of PSI_EDGE_QUANTILES) {
    const e = quantileOfSorted(reference, p);
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  const referenceShares = shares(countInBins(reference, edges), reference.length);
  const currentShares = shares(countInBins(current, edges), current.length);
  const psi = psiOfShares(referenceShares, currentShares);
  const ks = ksStatistic(reference, current);
  const ksCritical = ksCriticalValue(reference.length, current.length, thresholds.ksC);
  const base = {
    feature,
    kind: 'numeric' as const,
    referenceRows: reference.length,
    currentRows: current.length,
    psi,
    ks,
    ksCritical,
    edges,
    referenceShares,
    currentShares,
    referenceMean: mean(reference),
    currentMean: mean(current),
  };
  const few = Math.min(reference.length, current.length);
  if (few < thresholds.minRows) {
    return {
      ...base,
      level: 'too-few-rows',
      drifted: false,
      reason: `${few} row${few === 1 ? '' : 's'} on one side: PSI and KS are not judged below ${thresholds.minRows} rows`,
    };
  }
  const reasons: string[] = [];
  if (psi >= thresholds.psiDrift) reasons.push(`PSI ${fmt(psi)} >= ${thresholds.psiDrift}`);
  if (ks > Math.max(thresholds.ksMin, ksCritical))
    reasons.push(`KS ${fmt(ks)} > ${fmt(Math.max(thresholds.ksMin, ksCritical))}`);
  const drifted = reasons.length > 0;
  const level: DriftLevel = drifted ? 'drifted' : psi >= thresholds.psiWarn ? 'moderate' : 'stable';
  return {
    ...base,
    level,
    drifted,
    reason: drifted
      ? `${reasons.join(', ')} (mean ${fmt(base.referenceMean)} -> ${fmt(base.currentMean)})`
      : level === 'moderate'
        ? `PSI ${fmt(psi)} >= ${thresholds.psiWarn}: moderate shift`
        : '',
  };
}

/** Upper tail of a standard normal (Abramowitz-Stegun 7.1.26 erfc, |error| < 1.5e-7). */
function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = poly * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** P(X >= x) for chi-square with k degrees of freedom (Wilson-Hilferty cube-root approximation). */
export function chiSquareUpperTail(x: number, k: number): number {
  if (k <= 0) return 1;
  if (x <= 0) return 1;
  const v = 2 / (9 * k);
  const z = ((x / k) ** (1 / 3) - (1 - v)) / Math.sqrt(v);
  return normalUpperTail(z);
}

/** Drift of one categorical feature from category counts (missing values as a category of their own). */
export function categoricalDrift(
  feature: string,
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): CategoricalDrift {
  const categories = [...new Set([...reference.keys(), ...current.keys()])].sort();
  const r = categories.map((c) => reference.get(c) ?? 0);
  const k = categories.map((c) => current.get(c) ?? 0);
  const n = r.reduce((a, b) => a + b, 0);
  const m = k.reduce((a, b) => a + b, 0);
  if (n === 0 || m === 0) {
    throw new DriftInputError(
      `${feature}: cannot compare with ${n === 0 ? 'an empty reference' : 'no current rows'}; drift needs at least one row on each side.`,
    );
  }
  const psi = psiOfShares(shares(r, n), shares(k, m));
  let chiSquare = 0;
  for (let i = 0; i < categories.length; i++) {
    const pooled = ((r[i] as number) + (k[i] as number)) / (n + m);
    const er = pooled * n;
    const ek = pooled * m;
    chiSquare += ((r[i] as number) - er) ** 2 / er + ((k[i] as number) - ek) ** 2 / ek;
  }
  const degreesOfFreedom = Math.max(0, categories.length - 1);
  const unseen = categories.filter((c) => !reference.has(c));
  const few = Math.min(n, m);
  const base = {
    feature,
    kind: 'categorical' as const,
    referenceRows: n,
    currentRows: m,
    psi,
    chiSquare,
    degreesOfFreedom,
    pValue: chiSquareUpperTail(chiSquare, degreesOfFreedom),
    unseen,
  };
  if (few < thresholds.minRows) {
    return { ...base, level: 'too-few-rows', drifted: false, reason: `${few} rows on one side: not judged` };
  }
  const drifted = psi >= thresholds.psiDrift;
  const level: DriftLevel = drifted ? 'drifted' : psi >= thresholds.psiWarn ? 'moderate' : 'stable';
  const unseenText = unseen.length > 0 ? `; unseen categories: ${unseen.slice(0, 5).join(', ')}` : '';
  return {
    ...base,
    level,
    drifted,
    reason: level === 'stable' ? unseenText.slice(2) : `PSI ${fmt(psi)}${unseenText}`,
  };
}

/** Categories beyond this many are counted together as OTHER_CATEGORY, with a note. */
export const MAX_CATEGORIES = 1_000;
export const OTHER_CATEGORY = '(other)';
export const MISSING_CATEGORY = '(missing)';

/**
 * Category frequencies of a text column: empty cells count as MISSING_CATEGORY; past
 * `maxCategories` distinct values the rest are pooled into OTHER_CATEGORY and `overflow` says how
 * many distinct values were pooled, so a column with a million ids costs bounded memory.
 */
export function categoryCounts(
  values: Iterable<string | undefined>,
  maxCategories = MAX_CATEGORIES,
): { counts: Map<string, number>; overflowDistinct: number } {
  const counts = new Map<string, number>();
  const pooled = new Set<string>();
  for (const raw of values) {
    const v = raw === undefined || raw.trim() === '' ? MISSING_CATEGORY : raw;
    const known = counts.get(v);
    if (known !== undefined) counts.set(v, known + 1);
    else if (counts.size < maxCategories) counts.set(v, 1);
    else {
      if (pooled.size <= maxCategories * 10) pooled.add(v);
      counts.set(OTHER_CATEGORY, (counts.get(OTHER_CATEGORY) ?? 0) + 1);
    }
  }
  return { counts, overflowDistinct: pooled.size };
}
