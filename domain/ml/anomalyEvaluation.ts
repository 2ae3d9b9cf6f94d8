import { z } from 'zod';
import { evaluateScores, evaluationMetricsSchema } from './metrics';

/**
 * What an anomaly model is judged by without labels (the score distribution, the threshold, the
 * rows it ranks highest, and how the flagged share holds on rows it was not trained on) and, when
 * a 0/1 column was given (`--eval-label`), against it: precision at k, recall at the threshold,
 * ROC-AUC and PR-AUC (the classifier's metrics, with the anomaly score as the ranking).
 */
export const anomalyEvaluationSchema = z.object({
  threshold: z.number(),
  contamination: z.number(),
  /** Quantiles of anomaly_score on the held-out rows. */
  quantiles: z.array(z.object({ q: z.number(), score: z.number() })),
  /** Share of rows above the threshold: training rows (about the contamination) and held-out rows. */
  flaggedShare: z.object({ train: z.number(), test: z.number() }),
  /** The held-out rows with the highest scores, with their raw features. */
  topRows: z.array(
    z.object({ row: z.number().int(), score: z.number(), features: z.record(z.string(), z.number()) }),
  ),
  labelled: z
    .object({
      label: z.string(),
      metrics: evaluationMetricsSchema,
      /** Precision among the k highest-scoring held-out rows, for k = the number of true anomalies and 10, 100. */
      precisionAtK: z.array(z.object({ k: z.number().int(), precision: z.number() })),
    })
    .optional(),
});
export type AnomalyEvaluation = z.infer<typeof anomalyEvaluationSchema>;

const QUANTILES = [0.5, 0.9, 0.99, 0.999, 1];
const TOP_ROWS = 20;

export function evaluateAnomalyScores(input: {
  testScores: ArrayLike<number>;
  trainScores: ArrayLike<number>;
  threshold: number;
  contamination: number;
  testRaw: Float32Array;
  features: string[];
  /** The held-out rows' 0/1 labels and the column they came from, when given. */
  labels?: { name: string; y: Uint8Array };
}): AnomalyEvaluation {
  const { testScores, trainScores, threshold, features } = input;
  const n = testScores.length;
  const sorted = Float64Array.from(testScores).sort();
  const share = (s: ArrayLike<number>) => {
    let above = 0;
    for (let i = 0; i < s.length; i++) if ((s[i] as number) > threshold) above++;
    return s.length === 0 ? 0 : above / s.length;
  };
  const ranked = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (testScores[b] as number) - (testScores[a] as number),
  );
  const topRows = ranked.slice(0, TOP_ROWS).map((row) => ({
    row,
    score: testScores[row] as number,
    features: Object.fromEntries(
      features.map((f, j) => [f, input.testRaw[row * features.length + j] as number]),
    ),
  }));
  let labelled: AnomalyEvaluation['labelled'];
  if (input.labels) {
    const { y, name } = input.labels;
    const { roc: _roc, pr: _pr, ...metrics } = evaluateScores(y, testScores, threshold);
    const positives = y.reduce((s, v) => s + v, 0);
    const ks = [...new Set([positives, 10, 100])].filter((k) => k > 0 && k <= n);
    const precisionAtK = ks.map((k) => ({
      k,
      precision: ranked.slice(0, k).reduce((s, row) => s + (y[row] as number), 0) / k,
    }));
    labelled = { label: name, metrics, precisionAtK };
  }
  return {
    threshold,
    contamination: input.contamination,
    quantiles: QUANTILES.map((q) => ({
      q,
      score: sorted[Math.min(n - 1, Math.floor(q * (n - 1)))] as number,
    })),
    flaggedShare: { train: share(trainScores), test: share(testScores) },
    topRows,
    ...(labelled ? { labelled } : {}),
  };
}
