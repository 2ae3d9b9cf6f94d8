import { histogram, PROFILE_HISTOGRAM_BINS } from './distribution';
import { DEFAULT_DRIFT_THRESHOLDS, type DriftThresholds, type NumericDrift, numericDrift } from './drift';

export interface FeatureDriftWithHistograms extends NumericDrift {
  /** Both samples over the same equal-width bins (the union of their ranges), for overlaid plots. */
  overlay: { edges: number[]; reference: number[]; current: number[] };
}

export interface DatasetDrift {
  referenceRows: number;
  currentRows: number;
  thresholds: DriftThresholds;
  features: FeatureDriftWithHistograms[];
  /** Names of the drifted features, in feature order. */
  drifted: string[];
}

/** Drift of every feature between two sets of sorted columns (same order as `features`). */
export function datasetDrift(
  features: readonly string[],
  reference: readonly Float64Array[],
  current: readonly Float64Array[],
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DatasetDrift {
  const rows = features.map((name, j) => {
    const ref = reference[j] as Float64Array;
    const cur = current[j] as Float64Array;
    const drift = numericDrift(name, ref, cur, thresholds);
    const lo = Math.min(ref[0] as number, cur[0] as number);
    const hi = Math.max(ref[ref.length - 1] as number, cur[cur.length - 1] as number);
    const r = histogram(ref, lo, hi, PROFILE_HISTOGRAM_BINS);
    const c = histogram(cur, lo, hi, PROFILE_HISTOGRAM_BINS);
    return { ...drift, overlay: { edges: r.edges, reference: r.counts, current: c.counts } };
  });
  return {
    referenceRows: reference[0]?.length ?? 0,
    currentRows: current[0]?.length ?? 0,
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
