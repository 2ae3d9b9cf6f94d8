import { type Evaluation, evaluateScores } from '../ml/metrics';
import { categoricalInputsOf } from '../scoring/anomalyScorer';
import { scoreMatrix } from '../scoring/binaryScorer';

export interface HeldOutData {
  /** Raw (unscaled) rows, row-major, columns in `features` order. */
  raw: Float32Array;
  labels: Uint8Array;
  nRows: number;
  features: string[];
  /**
   * The categories of the rows' categorical features (the dictionary their codes index), by
   * feature: what a champion taking those features as text is fed. Absent without any.
   */
  categories?: Record<string, readonly string[]>;
}

export type ChampionEvaluation =
  | { comparable: true; metrics: Omit<Evaluation, 'roc' | 'pr'>; evaluation: Evaluation }
  | { comparable: false; why: string };

/**
 * Scores the champion's ONNX file on the challenger's held-out rows, so both are judged on the
 * same data (TFX's Evaluator does the same with its baseline model). The file takes raw features
 * (its scaler is inside the graph) in its own order, which is looked up by name; a champion that
 * needs a column this data does not have cannot be compared, and says which.
 */
export async function evaluateChampion(options: {
  onnxBytes: Uint8Array;
  championFeatures: string[];
  /** The output an imported champion is scored from; Slipway's own exports need none. */
  championOutput?: string;
  threshold: number;
  heldOut: HeldOutData;
}): Promise<ChampionEvaluation> {
  const { heldOut, championFeatures } = options;
  const index = new Map(heldOut.features.map((name, j) => [name, j]));
  const missing = championFeatures.filter((f) => !index.has(f));
  if (missing.length > 0) {
    return {
      comparable: false,
      why: `the champion needs ${missing.length === 1 ? 'a column' : 'columns'} this data lacks: ${missing.join(', ')}`,
    };
  }
  // A champion with categorical features (string inputs) is fed their text: each code decoded
  // with these rows' own dictionary, so the champion's graph encodes it as its training did.
  const categorical = categoricalInputsOf(options.onnxBytes, championFeatures);
  const undecodable = categorical.filter((f) => !heldOut.categories?.[f]);
  if (undecodable.length > 0) {
    return {
      comparable: false,
      why: `the champion takes ${undecodable.join(', ')} as text, which this data does not hold as categories (--categorical)`,
    };
  }
  const numeric = championFeatures.filter((f) => !categorical.includes(f));
  const columns = numeric.map((f) => index.get(f) as number);
  const nIn = heldOut.features.length;
  const nOut = columns.length;
  const x = new Float32Array(heldOut.nRows * nOut);
  for (let i = 0; i < heldOut.nRows; i++) {
    for (let j = 0; j < nOut; j++) x[i * nOut + j] = heldOut.raw[i * nIn + (columns[j] as number)] as number;
  }
  const texts = categorical.map((f) => {
    const at = index.get(f) as number;
    const values = heldOut.categories?.[f] as readonly string[];
    return Array.from(
      { length: heldOut.nRows },
      (_, i) => values[heldOut.raw[i * nIn + at] as number] as string,
    );
  });
  const scores = await scoreMatrix(options.onnxBytes, x, heldOut.nRows, nOut, {
    outputName: options.championOutput,
    ...(categorical.length > 0 ? { categories: { names: categorical, texts } } : {}),
  });
  const evaluation = evaluateScores(heldOut.labels, scores, options.threshold);
  const { roc: _roc, pr: _pr, ...metrics } = evaluation;
  return { comparable: true, metrics, evaluation };
}
