import { histogram, PROFILE_HISTOGRAM_BINS } from './distribution';
import {
  type CategoricalDrift,
  categoricalDrift,
  DEFAULT_DRIFT_THRESHOLDS,
  type DriftThresholds,
  type NumericDrift,
  numericDrift,
  OTHER_CATEGORY,
} from './drift';

export interface NumericDriftWithHistograms extends NumericDrift {
  /** Both samples over the same equal-width bins (the union of their ranges), for overlaid plots. */
  overlay: { edges: number[]; reference: number[]; current: number[] };
}

export interface CategoricalDriftWithHistograms extends CategoricalDrift {
  /** Both sides' counts over the same categories (the reference's most frequent, then OTHER_CATEGORY). */
  overlay: { categories: string[]; reference: number[]; current: number[] };
}

export type FeatureDriftWithHistograms = NumericDriftWithHistograms | CategoricalDriftWithHistograms;

/** One side of a feature: a numeric column sorted ascending, or a categorical one's counts per category. */
export type DriftColumn = Float64Array | ReadonlyMap<string, number>;

/** Categories a categorical overlay shows by name; the rest are one OTHER_CATEGORY bar. */
export const OVERLAY_CATEGORIES = 20;

function categoryOverlay(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): CategoricalDriftWithHistograms['overlay'] {
  const byCount = (m: ReadonlyMap<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c);
  const shown = [...new Set([...byCount(reference), ...byCount(current)])].slice(0, OVERLAY_CATEGORIES);
  const total = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const counts = (m: ReadonlyMap<string, number>) => {
    const named = shown.map((c) => m.get(c) ?? 0);
    return [...named, total(m) - named.reduce((a, b) => a + b, 0)];
  };
  return { categories: [...shown, OTHER_CATEGORY], reference: counts(reference), current: counts(current) };
}

export interface DatasetDrift {
  referenceRows: number;
  currentRows: number;
  thresholds: DriftThresholds;
  features: FeatureDriftWithHistograms[];
  /** Names of the drifted features, in feature order. */
  drifted: string[];
}

/**
 * Drift of every feature between two sets of columns (same order as `features`): PSI and KS for a
 * numeric one (sorted values), PSI and chi-square over categories for a categorical one (counts).
 */
export function datasetDrift(
  features: readonly string[],
  reference: readonly DriftColumn[],
  current: readonly DriftColumn[],
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DatasetDrift {
  const rows = features.map((name, j): FeatureDriftWithHistograms => {
    const ref = reference[j] as DriftColumn;
    const cur = current[j] as DriftColumn;
    if (!(ref instanceof Float64Array) || !(cur instanceof Float64Array)) {
      if (ref instanceof Float64Array || cur instanceof Float64Array) {
        throw new Error(`${name}: numeric on one side and categorical on the other`);
      }
      return { ...categoricalDrift(name, ref, cur, thresholds), overlay: categoryOverlay(ref, cur) };
    }
    const drift = numericDrift(name, ref, cur, thresholds);
    const lo = Math.min(ref[0] as number, cur[0] as number);
    const hi = Math.max(ref[ref.length - 1] as number, cur[cur.length - 1] as number);
    const r = histogram(ref, lo, hi, PROFILE_HISTOGRAM_BINS);
    const c = histogram(cur, lo, hi, PROFILE_HISTOGRAM_BINS);
    return { ...drift, overlay: { edges: r.edges, reference: r.counts, current: c.counts } };
  });
  return {
    referenceRows: rows[0]?.referenceRows ?? 0,
    currentRows: rows[0]?.currentRows ?? 0,
    thresholds,
    features: rows,
    drifted: rows.filter((r) => r.drifted).map((r) => r.feature),
  };
}

/** One sentence on the whole comparison, for the table and the report. */
export function driftVerdict(drift: DatasetDrift): string {
  if (drift.drifted.length > 0) {
    const n = drift.drifted.length;
    return `${n} feature${n === 1 ? '' : 's'} drifted: ${drift.drifted.join(', ')}.`;
  }
  const few = Math.min(drift.referenceRows, drift.currentRows);
  if (few < drift.thresholds.minRows) {
    return (
      `Not judged: ${few} row${few === 1 ? '' : 's'} on one side, and drift is judged from ${drift.thresholds.minRows} rows ` +
      '(the figures are shown, but are noise at this size). Compare a larger batch.'
    );
  }
  return 'No feature drifted.';
}
