import { z } from 'zod';
import { TrainingInputError } from './errors';

/**
 * Evaluation of a binary classifier. Undefined ratios follow scikit-learn's zero_division=0:
 * precision is 0 when nothing is predicted positive, recall 0 when there are no positives, and
 * the AUCs are 0 when a class is missing, so a report never shows NaN. Curves are downsampled to
 * at most 200 points (first and last kept) so they fit in a JSON report.
 *
 * The metric fields are declared here once; the registry's metrics, the evaluation step's result
 * and the gate's candidate are derived from these schemas.
 */
const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

export const confusionCountsSchema = z.object({ tp: count, fp: count, tn: count, fn: count });

const rates = {
  precision: fraction,
  recall: fraction,
  /** False-positive rate: fp / (fp + tn). */
  fpr: fraction,
  f1: fraction,
};
const aucs = { rocAuc: fraction, prAuc: fraction };

export const thresholdMetricsSchema = confusionCountsSchema.extend({ threshold: z.number(), ...rates });
export type ThresholdMetrics = z.infer<typeof thresholdMetricsSchema>;

/** What a model version is registered with: counts, rates and AUCs on the held-out split at its threshold. */
export const modelMetricsSchema = confusionCountsSchema.extend({ ...rates, ...aucs });
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

/** An evaluation without its curves: what the evaluation step returns to the workflow. */
export const evaluationMetricsSchema = thresholdMetricsSchema.extend({
  ...aucs,
  positives: count,
  negatives: count,
});
export type EvaluationMetrics = z.infer<typeof evaluationMetricsSchema>;

export const curvePointSchema = z.object({ threshold: z.number(), x: z.number(), y: z.number() });
export type CurvePoint = z.infer<typeof curvePointSchema>;

export const evaluationSchema = evaluationMetricsSchema.extend({
  /** ROC curve: x = false-positive rate, y = recall. */
  roc: z.array(curvePointSchema),
  /** Precision-recall curve: x = recall, y = precision. */
  pr: z.array(curvePointSchema),
});
export type Evaluation = z.infer<typeof evaluationSchema>;

const modelMetricKeys = modelMetricsSchema.keyof().options;

/**
 * The registered metrics out of a fuller evaluation: the schema's fields, in its order. Picks
 * without validating, so workflow code can call it (the registry validates when it stores them).
 */
export function modelMetricsOf(metrics: ModelMetrics): ModelMetrics {
  return Object.fromEntries(modelMetricKeys.map((key) => [key, metrics[key]])) as ModelMetrics;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Labels must be 0/1 and scores finite, one per label: a NaN score would silently corrupt the ranking. */
function checkInputs(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) {
    throw new TrainingInputError(
      'InvalidScores',
      `${labels.length} labels but ${scores.length} scores: evaluate one score per row.`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1)
      throw new TrainingInputError('InvalidScores', `label at row ${i} is ${labels[i]}, expected 0 or 1.`);
    if (!Number.isFinite(scores[i]))
      throw new TrainingInputError(
        'InvalidScores',
        `score at row ${i} is ${scores[i]}: the model produced a non-finite output (diverged training?).`,
      );
  }
}

/** Predicted positive when score >= threshold. */
export function confusionAt(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): ThresholdMetrics {
  checkInputs(labels, scores);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = (scores[i] as number) >= threshold;
    if (labels[i] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    threshold,
    tp,
    fp,
    tn,
    fn,
    precision,
    recall,
    fpr: ratio(fp, fp + tn),
    f1: ratio(2 * precision * recall, precision + recall),
  };
}

/**
 * ROC-AUC (ties count half, by the trapezoid over distinct thresholds) and PR-AUC as average
 * precision (sum over distinct thresholds of (R_n - R_{n-1}) * P_n, scikit-learn's definition).
 */
export function rankingMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>, maxCurvePoints = 200) {
  checkInputs(labels, scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = labels.length - positives;
  const roc: CurvePoint[] = [{ threshold: Number.POSITIVE_INFINITY, x: 0, y: 0 }];
  const pr: CurvePoint[] = [];
  let rocAuc = 0;
  let prAuc = 0;
  let prevFpr = 0;
  let prevTpr = 0;
  sweepThresholds(labels, scores, 1, (threshold, tp, fp) => {
    const tpr = ratio(tp, positives);
    const fpr = ratio(fp, negatives);
    const precision = ratio(tp, tp + fp);
    rocAuc += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
    prAuc += (tpr - prevTpr) * precision;
    roc.push({ threshold, x: fpr, y: tpr });
    pr.push({ threshold, x: tpr, y: precision });
    prevFpr = fpr;
    prevTpr = tpr;
  });
  if (positives === 0 || negatives === 0) rocAuc = 0;
  if (positives === 0) prAuc = 0;
  return {
    rocAuc,
    prAuc,
    roc: downsample(roc, maxCurvePoints),
    pr: downsample(pr, maxCurvePoints),
    positives,
    negatives,
  };
}

/**
 * Walks the distinct scores from highest to lowest and calls `visit` with the true and false
 * positives at or above each one. Rows sharing a score cross the threshold together, which is
 * what makes ties count the way scikit-learn counts them. A negative counts `negativeWeight`
 * times, so a weighted sample of the negatives can stand in for all of them.
 */
export function sweepThresholds(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  negativeWeight: number,
  visit: (threshold: number, truePositives: number, falsePositives: number) => void,
): void {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; ) {
    const threshold = scores[order[k] as number] as number;
    while (k < order.length && scores[order[k] as number] === threshold) {
      if (labels[order[k] as number] === 1) tp++;
      else fp += negativeWeight;
      k++;
    }
    visit(threshold, tp, fp);
  }
}

/** Keeps at most `max` points, always the first and last, evenly spaced in between. */
function downsample(points: CurvePoint[], max: number): CurvePoint[] {
  if (points.length <= max) return points;
  const out: CurvePoint[] = [];
  for (let i = 0; i < max; i++)
    out.push(points[Math.round((i * (points.length - 1)) / (max - 1))] as CurvePoint);
  return out;
}

export function evaluateScores(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): Evaluation {
  return { ...confusionAt(labels, scores, threshold), ...rankingMetrics(labels, scores) };
}
