import { z } from 'zod';

/**
 * What a comparison's differences are differences of, and what its agreement is on:
 * - `probability` (classifiers): the probability of class 1, in [0, 1]; rows agree when both
 *   versions predict the same label, each with its own threshold;
 * - `anomaly_score` (anomaly versions): the anomaly score, in the versions' own units (reconstruction
 *   error, unbounded; higher is more anomalous); rows agree when both flag them alike
 *   (predicted_outlier negative for both or for neither), each with its own threshold.
 */
export const shadowScoreSchema = z.enum(['probability', 'anomaly_score']);
export type ShadowScore = z.infer<typeof shadowScoreSchema>;

/** The agreement and difference of each kind of comparison, named for people. */
export function shadowTerms(score: ShadowScore | undefined): { agreement: string; difference: string } {
  return score === 'anomaly_score'
    ? { agreement: 'outlier flags (predicted_outlier < 0)', difference: 'anomaly_score difference' }
    : { agreement: 'labels', difference: 'probability difference' };
}

/**
 * Shadow traffic: every request the service answers is also scored by the version behind another
 * alias (the candidate), whose answer is never returned; one record per request says how the two
 * compared. `slipway serve-report` sums them up.
 */
export const shadowRecordSchema = z.object({
  at: z.string(),
  model: z.string().min(1),
  primary: z.object({
    alias: z.string().optional(),
    version: z.number().int().min(1),
    ms: z.number().nonnegative(),
  }),
  shadow: z.object({
    alias: z.string().min(1),
    version: z.number().int().min(1),
    ms: z.number().nonnegative(),
  }),
  rows: z.number().int().min(1),
  /** What the differences are of (absent in logs written before anomaly versions: probability). */
  score: shadowScoreSchema.optional(),
  /**
   * Rows whose predicted label is the same from both, or (anomaly versions) that both flag alike;
   * each version with its own threshold.
   */
  labelsAgree: z.number().int().nonnegative(),
  maxAbsDiff: z.number().nonnegative(),
  sumAbsDiff: z.number().nonnegative(),
});
export type ShadowRecord = z.infer<typeof shadowRecordSchema>;

export interface ScoreComparison {
  rows: number;
  score: ShadowScore;
  labelsAgree: number;
  maxAbsDiff: number;
  sumAbsDiff: number;
}

/** How two versions' probabilities for the same rows compare. */
export function compareScores(
  primary: Float32Array,
  shadow: Float32Array,
  primaryThreshold: number,
  shadowThreshold: number,
): ScoreComparison {
  let labelsAgree = 0;
  let maxAbsDiff = 0;
  let sumAbsDiff = 0;
  for (let i = 0; i < primary.length; i++) {
    const p = primary[i] as number;
    const s = shadow[i] as number;
    if (p >= primaryThreshold === s >= shadowThreshold) labelsAgree++;
    const diff = Math.abs(p - s);
    sumAbsDiff += diff;
    if (diff > maxAbsDiff) maxAbsDiff = diff;
  }
  return { rows: primary.length, score: 'probability', labelsAgree, maxAbsDiff, sumAbsDiff };
}

/**
 * How two anomaly versions' answers for the same rows compare: the differences are of
 * anomaly_score, and a row agrees when both flag it alike (predicted_outlier negative for both,
 * or for neither), each version with its own threshold.
 */
export function compareAnomalyScores(
  primary: { score: Float32Array; outlier: Float32Array },
  shadow: { score: Float32Array; outlier: Float32Array },
): ScoreComparison {
  const { maxAbsDiff, sumAbsDiff } = compareScores(primary.score, shadow.score, 0, 0);
  let labelsAgree = 0;
  for (let i = 0; i < primary.outlier.length; i++)
    if ((primary.outlier[i] as number) < 0 === (shadow.outlier[i] as number) < 0) labelsAgree++;
  return { rows: primary.score.length, score: 'anomaly_score', labelsAgree, maxAbsDiff, sumAbsDiff };
}

/** One pair of versions (answering, shadow) of one model over the records. */
export interface ShadowPairReport {
  model: string;
  primaryVersion: number;
  shadowAlias: string;
  shadowVersion: number;
  /** What meanAbsDiff and maxAbsDiff are differences of, and agreement is on (shadowScoreSchema). */
  score: ShadowScore;
  requests: number;
  rows: number;
  /** Share of rows with the same predicted label (anomaly versions: flagged alike). */
  agreement: number;
  meanAbsDiff: number;
  maxAbsDiff: number;
  /** Model time per request (scoring only, not HTTP), each version. */
  primaryMs: { p50: number; p99: number };
  shadowMs: { p50: number; p99: number };
}

/** Sums the records up per model and pair of versions, in the order the pairs first appear. */
export function summarizeShadow(records: readonly ShadowRecord[]): ShadowPairReport[] {
  const pairs = new Map<string, ShadowRecord[]>();
  for (const r of records) {
    const key = `${r.model}\u0000${r.primary.version}\u0000${r.shadow.alias}\u0000${r.shadow.version}\u0000${r.score ?? 'probability'}`;
    const list = pairs.get(key);
    if (list) list.push(r);
    else pairs.set(key, [r]);
  }
  return [...pairs.values()].map((list) => {
    const first = list[0] as ShadowRecord;
    const rows = list.reduce((n, r) => n + r.rows, 0);
    return {
      model: first.model,
      primaryVersion: first.primary.version,
      shadowAlias: first.shadow.alias,
      shadowVersion: first.shadow.version,
      score: first.score ?? 'probability',
      requests: list.length,
      rows,
      agreement: list.reduce((n, r) => n + r.labelsAgree, 0) / rows,
      meanAbsDiff: list.reduce((n, r) => n + r.sumAbsDiff, 0) / rows,
      maxAbsDiff: Math.max(...list.map((r) => r.maxAbsDiff)),
      primaryMs: percentiles(list.map((r) => r.primary.ms)),
      shadowMs: percentiles(list.map((r) => r.shadow.ms)),
    };
  });
}

/** Nearest-rank p50 and p99. */
function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  return { p50: at(0.5), p99: at(0.99) };
}
