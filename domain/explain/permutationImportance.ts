import { z } from 'zod';
import { sweepThresholds } from '../ml/metrics';
import { mulberry32, shuffleInPlace } from '../random';

/**
 * Permutation importance (Breiman; scikit-learn's permutation_importance): how much a model's
 * key metric drops on held-out rows when one feature's values are shuffled among the rows, which
 * breaks that feature's link to the label while keeping its distribution. Repeated with fresh
 * shuffles; the mean drop and a 95 % confidence interval (Student's t over the repeats) are kept.
 *
 * The model is any batch scorer (onnxruntime in the pipeline), so trained, imported and anomaly
 * versions are measured the same way. Cost is (features x repeats + 1) scorings of the rows used,
 * so the rows are bounded (see `sampleRows`). Everything is seeded: the same inputs give the same
 * numbers on every machine.
 */

export const IMPORTANCE_DEFAULTS = { repeats: 5, maxRows: 8192, seed: 29 } as const;

/** What the drop is measured in. */
export const importanceMetricSchema = z.enum([
  /** Average precision (PR-AUC) against the labels: the metric gate's default key metric. */
  'prAuc',
  /**
   * No labels (an anomaly version without --eval-label): the mean absolute change of the score
   * per row when the feature is shuffled. It says how much the model leans on the feature, not
   * whether it is right to.
   */
  'meanAbsScoreChange',
]);
export type ImportanceMetric = z.infer<typeof importanceMetricSchema>;

export const featureImportanceSchema = z.object({
  feature: z.string(),
  /** Mean drop of the metric over the repeats (higher: the model needs the feature more). */
  mean: z.number(),
  std: z.number(),
  /** 95 % confidence interval of the mean drop. */
  low: z.number(),
  high: z.number(),
  /** The drop of each repeat. */
  drops: z.array(z.number()),
});
export type FeatureImportance = z.infer<typeof featureImportanceSchema>;

export const importanceSchema = z.object({
  method: z.literal('permutation'),
  metric: importanceMetricSchema,
  /** The metric on the unshuffled rows (0 for meanAbsScoreChange). */
  baseline: z.number(),
  rowsUsed: z.number().int().nonnegative(),
  rowsAvailable: z.number().int().nonnegative(),
  /** How the rows were chosen, in words. */
  sampling: z.string(),
  repeats: z.number().int().min(2),
  seed: z.number().int(),
  confidence: z.literal(0.95),
  /** Highest mean drop first. */
  features: z.array(featureImportanceSchema),
});
export type Importance = z.infer<typeof importanceSchema>;

export type BatchScorer = (x: Float32Array, nRows: number) => Promise<Float32Array>;

export interface PermutationImportanceInput {
  score: BatchScorer;
  /** Raw rows, row-major, in `features` order. */
  x: Float32Array;
  nRows: number;
  features: string[];
  /** 0/1 labels per row; absent: the unlabelled metric (meanAbsScoreChange). */
  labels?: Uint8Array;
  repeats?: number;
  maxRows?: number;
  seed?: number;
  /** Called after each feature (activities heartbeat). */
  onProgress?: () => void;
}

export async function permutationImportance(input: PermutationImportanceInput): Promise<Importance> {
  const repeats = input.repeats ?? IMPORTANCE_DEFAULTS.repeats;
  const maxRows = input.maxRows ?? IMPORTANCE_DEFAULTS.maxRows;
  const seed = input.seed ?? IMPORTANCE_DEFAULTS.seed;
  const F = input.features.length;
  const random = mulberry32(seed);
  const sample = sampleRows(input.nRows, maxRows, input.labels, random);
  const n = sample.rows.length;
  const x = new Float32Array(n * F);
  for (let i = 0; i < n; i++) {
    const r = sample.rows[i] as number;
    x.set(input.x.subarray(r * F, (r + 1) * F), i * F);
  }
  const labels = input.labels ? Uint8Array.from(sample.rows, (r) => input.labels?.[r] as number) : undefined;
  const base = await input.score(x, n);
  const metric: ImportanceMetric = labels ? 'prAuc' : 'meanAbsScoreChange';
  const measure = (scores: Float32Array) =>
    labels ? weightedAveragePrecision(labels, scores, sample.negativeWeight) : meanAbsChange(base, scores);
  const baseline = labels ? measure(base) : 0;

  const shuffled = new Float32Array(x);
  const order = new Uint32Array(n);
  const features: FeatureImportance[] = [];
  for (let j = 0; j < F; j++) {
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      for (let i = 0; i < n; i++) order[i] = i;
      shuffleInPlace(order, random);
      for (let i = 0; i < n; i++) shuffled[i * F + j] = x[(order[i] as number) * F + j] as number;
      const value = measure(await input.score(shuffled, n));
      drops.push(labels ? baseline - value : value);
    }
    for (let i = 0; i < n; i++) shuffled[i * F + j] = x[i * F + j] as number;
    features.push({ feature: input.features[j] as string, ...summarise(drops), drops });
    input.onProgress?.();
  }
  features.sort((a, b) => b.mean - a.mean || a.feature.localeCompare(b.feature));
  return {
    method: 'permutation',
    metric,
    baseline,
    rowsUsed: n,
    rowsAvailable: input.nRows,
    sampling: sample.description,
    repeats,
    seed,
    confidence: 0.95,
    features,
  };
}

/**
 * At most `maxRows` rows. With labels, every positive is kept (up to half the budget: they are
 * rare, and the metric is about finding them) and the negatives are a seeded sample, each
 * standing for `negativeWeight` negatives so precision is estimated at the true class ratio.
 */
export function sampleRows(
  nRows: number,
  maxRows: number,
  labels: Uint8Array | undefined,
  random: () => number,
): { rows: Uint32Array; negativeWeight: number; description: string } {
  if (nRows <= maxRows)
    return {
      rows: Uint32Array.from({ length: nRows }, (_, i) => i),
      negativeWeight: 1,
      description: 'every row',
    };
  const pick = (from: number[], k: number) => {
    const pool = Uint32Array.from(from);
    shuffleInPlace(pool, random);
    return Array.from(pool.subarray(0, k));
  };
  if (!labels) {
    const rows = pick(
      Array.from({ length: nRows }, (_, i) => i),
      maxRows,
    ).sort((a, b) => a - b);
    return {
      rows: Uint32Array.from(rows),
      negativeWeight: 1,
      description: `a seeded sample of ${maxRows} rows`,
    };
  }
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < nRows; i++) (labels[i] === 1 ? positives : negatives).push(i);
  const keepPositives =
    positives.length <= maxRows / 2 ? positives : pick(positives, Math.floor(maxRows / 2));
  const keepNegatives = pick(negatives, maxRows - keepPositives.length);
  const rows = [...keepPositives, ...keepNegatives].sort((a, b) => a - b);
  // Positives sampled too (only when they are more than half the budget): weigh negatives by the
  // ratio of the two sampling rates, which keeps the class ratio of the full rows.
  const positiveRate = keepPositives.length / Math.max(1, positives.length);
  const negativeRate = keepNegatives.length / Math.max(1, negatives.length);
  return {
    rows: Uint32Array.from(rows),
    negativeWeight: negativeRate === 0 ? 1 : positiveRate / negativeRate,
    description:
      `${keepPositives.length} of ${positives.length} positives and a seeded sample of ${keepNegatives.length} of ` +
      `${negatives.length} negatives, each sampled negative weighted ${(positiveRate / Math.max(negativeRate, 1e-12)).toPrecision(4)}`,
  };
}

/**
 * Average precision (scikit-learn's definition, ties crossing together) with every negative
 * counted `negativeWeight` times: on a sample of the negatives it estimates the full rows' value.
 */
export function weightedAveragePrecision(
  labels: Uint8Array,
  scores: Float32Array,
  negativeWeight = 1,
): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  if (positives === 0) return 0;
  let ap = 0;
  let prevRecall = 0;
  sweepThresholds(labels, scores, negativeWeight, (_threshold, tp, fp) => {
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  });
  return ap;
}

function meanAbsChange(base: Float32Array, scores: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < base.length; i++) sum += Math.abs((scores[i] as number) - (base[i] as number));
  return base.length === 0 ? 0 : sum / base.length;
}

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

function summarise(drops: number[]): { mean: number; std: number; low: number; high: number } {
  const n = drops.length;
  const mean = drops.reduce((s, d) => s + d, 0) / n;
  const variance = n > 1 ? drops.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1) : 0;
  const std = Math.sqrt(variance);
  const half = (T975[n - 2] ?? 1.96) * (std / Math.sqrt(n));
  return { mean, std, low: mean - half, high: mean + half };
}

/** What a registered version keeps of its importance (metadata): no per-repeat drops. */
export const importanceSummarySchema = importanceSchema
  .pick({ metric: true, baseline: true, rowsUsed: true, repeats: true })
  .extend({ ranking: z.array(featureImportanceSchema.omit({ drops: true, std: true })) });
export type ImportanceSummary = z.infer<typeof importanceSummarySchema>;

export function summariseImportance(importance: Importance): ImportanceSummary {
  return {
    metric: importance.metric,
    baseline: importance.baseline,
    rowsUsed: importance.rowsUsed,
    repeats: importance.repeats,
    ranking: importance.features.map(({ feature, mean, low, high }) => ({ feature, mean, low, high })),
  };
}
