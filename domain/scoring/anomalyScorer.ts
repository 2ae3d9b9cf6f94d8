import type * as ort from 'onnxruntime-node';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import { DataType, decodeModel } from '../onnx/onnxProto';
import { ScoringError } from './errors';
import { addNumericFeeds, numericInputsOf, numericInputsWanted } from './numericFeeds';
import { addTextFeeds } from './textFeeds';

/**
 * The features an anomaly model takes as text: its string inputs that are among `features`
 * (Slipway's exports name each categorical feature's input after it), in feature order.
 */
export function categoricalInputsOf(onnx: Uint8Array, features: string[]): string[] {
  let names: string[];
  try {
    names = decodeModel(onnx)
      .graph.input.filter((i) => i.type?.tensorType?.elemType === DataType.STRING)
      .map((i) => i.name);
  } catch {
    return []; // not readable here: onnxruntime says why when the scorer opens it
  }
  return features.filter((f) => names.includes(f));
}

/** One onnxruntime session over an anomaly version's two outputs (see sklearnOutputs.ts for the sign convention). */
export interface AnomalyScorer {
  /**
   * anomaly_score (higher is more anomalous) and predicted_outlier (negative for outliers) of
   * `nRows` rows: their numeric features row-major in `x`, and for a model with categorical
   * inputs each one's text per row in `texts` (in the order of `categorical`).
   */
  score(
    x: Float32Array,
    nRows: number,
    texts?: string[][],
  ): Promise<{ score: Float32Array; outlier: Float32Array }>;
  /** The model's string inputs (categorical features), in the order `texts` are given. */
  categorical: string[];
  release(): Promise<void>;
}

/**
 * Opens an anomaly model for rows of `nFeatures` raw numeric values. It must take them as one
 * float tensor [N, nFeatures] or one [N, 1] each (numericFeeds.ts; none when every feature is
 * categorical) and, when `categorical` names features, one string tensor [N, 1] per such feature
 * named after it (Slipway's exports with --categorical, skl2onnx's mixed pipelines); and give `anomaly_score` and `predicted_outlier`, one float per row each
 * (Slipway's anomaly exports and adapted scikit-learn imports both do).
 */
export async function openAnomalyScorer(
  onnx: Uint8Array,
  nFeatures: number,
  categorical: string[] = [],
): Promise<AnomalyScorer> {
  const runtime = require('onnxruntime-node') as typeof ort;
  let session: ort.InferenceSession;
  try {
    session = await runtime.InferenceSession.create(onnx);
  } catch (error) {
    throw new ScoringError(
      'InvalidModel',
      `onnxruntime cannot open the model (${onnx.length} bytes): ${(error as Error).message}.`,
    );
  }
  const inputs = session.inputMetadata;
  const numeric = numericInputsOf(inputs, nFeatures, categorical);
  const names = session.outputMetadata.map((o) => o.name);
  const missing = [ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT].filter((n) => !names.includes(n));
  const inputsFit = numeric !== undefined;
  if (!inputsFit || missing.length > 0) {
    await session.release();
    const wanted =
      numericInputsWanted(nFeatures) +
      (categorical.length > 0 ? ` and string tensors ${categorical.join(', ')}` : '');
    const has = inputs.map((i) => `${i.name} (${i.isTensor ? i.type : 'not a tensor'})`).join(', ');
    throw new ScoringError(
      missing.length > 0 ? 'UnsupportedModelOutput' : 'ModelInputMismatch',
      missing.length > 0
        ? `The anomaly model lacks the output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; its outputs: ${names.join(', ')}.`
        : `The anomaly model does not take ${wanted} (its inputs: ${has}).`,
    );
  }
  const perRow = (t: ort.Tensor, nRows: number, name: string): Float32Array => {
    const data = t.data as Float32Array;
    if (data.length !== nRows) {
      throw new ScoringError(
        'UnsupportedModelOutput',
        `Output "${name}" gave ${data.length} values for ${nRows} rows (shape [${t.dims.join(', ')}]); an anomaly model gives one per row.`,
      );
    }
    return data;
  };
  return {
    categorical,
    async score(x, nRows, texts = []) {
      const feeds: Record<string, ort.Tensor> = {};
      addNumericFeeds(runtime, feeds, numeric ?? [], x, nRows, nFeatures);
      addTextFeeds(runtime, feeds, categorical, texts, nRows);
      const result = await session.run(feeds, [ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT]);
      return {
        score: perRow(result[ANOMALY_SCORE_OUTPUT] as ort.Tensor, nRows, ANOMALY_SCORE_OUTPUT),
        outlier: perRow(result[PREDICTED_OUTLIER_OUTPUT] as ort.Tensor, nRows, PREDICTED_OUTLIER_OUTPUT),
      };
    },
    release: () => session.release(),
  };
}

/**
 * Scores a row-major matrix of numeric features in batches with one session; `categories` names
 * the model's string inputs and holds each one's text per row.
 */
export async function scoreAnomalyMatrix(
  onnx: Uint8Array,
  x: Float32Array,
  nRows: number,
  nFeatures: number,
  batchRows = 8192,
  categories: { names: string[]; texts: string[][] } = { names: [], texts: [] },
): Promise<{ score: Float32Array; outlier: Float32Array }> {
  const scorer = await openAnomalyScorer(onnx, nFeatures, categories.names);
  try {
    const score = new Float32Array(nRows);
    const outlier = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += batchRows) {
      const end = Math.min(nRows, start + batchRows);
      const texts = categories.texts.map((t) => t.slice(start, end));
      const out = await scorer.score(x.subarray(start * nFeatures, end * nFeatures), end - start, texts);
      score.set(out.score, start);
      outlier.set(out.outlier, start);
    }
    return { score, outlier };
  } finally {
    await scorer.release();
  }
}
