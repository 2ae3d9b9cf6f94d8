import type * as ort from 'onnxruntime-node';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import { ScoringError } from './errors';

/** One onnxruntime session over an anomaly version's two outputs (see sklearnOutputs.ts for the sign convention). */
export interface AnomalyScorer {
  /** anomaly_score (higher is more anomalous) and predicted_outlier (negative for outliers) of `nRows` rows. */
  score(x: Float32Array, nRows: number): Promise<{ score: Float32Array; outlier: Float32Array }>;
  release(): Promise<void>;
}

/**
 * Opens an anomaly model for rows of `nFeatures` raw values. It must take one float tensor
 * [N, nFeatures] and give `anomaly_score` and `predicted_outlier`, one float per row each
 * (Slipway's anomaly exports and adapted scikit-learn imports both do).
 */
export async function openAnomalyScorer(onnx: Uint8Array, nFeatures: number): Promise<AnomalyScorer> {
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
  const input = inputs[0];
  const names = session.outputMetadata.map((o) => o.name);
  const missing = [ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT].filter((n) => !names.includes(n));
  if (inputs.length !== 1 || !input?.isTensor || input.type !== 'float32' || missing.length > 0) {
    await session.release();
    throw new ScoringError(
      missing.length > 0 ? 'UnsupportedModelOutput' : 'ModelInputMismatch',
      missing.length > 0
        ? `The anomaly model lacks the output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; its outputs: ${names.join(', ')}.`
        : `The anomaly model does not take one float32 tensor [N, ${nFeatures}] (it has ${inputs.length} inputs).`,
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
    async score(x, nRows) {
      const tensor = new runtime.Tensor('float32', x.subarray(0, nRows * nFeatures), [nRows, nFeatures]);
      const result = await session.run({ [input.name]: tensor }, [
        ANOMALY_SCORE_OUTPUT,
        PREDICTED_OUTLIER_OUTPUT,
      ]);
      return {
        score: perRow(result[ANOMALY_SCORE_OUTPUT] as ort.Tensor, nRows, ANOMALY_SCORE_OUTPUT),
        outlier: perRow(result[PREDICTED_OUTLIER_OUTPUT] as ort.Tensor, nRows, PREDICTED_OUTLIER_OUTPUT),
      };
    },
    release: () => session.release(),
  };
}

/** Scores a row-major matrix in batches with one session. */
export async function scoreAnomalyMatrix(
  onnx: Uint8Array,
  x: Float32Array,
  nRows: number,
  nFeatures: number,
  batchRows = 8192,
): Promise<{ score: Float32Array; outlier: Float32Array }> {
  const scorer = await openAnomalyScorer(onnx, nFeatures);
  try {
    const score = new Float32Array(nRows);
    const outlier = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += batchRows) {
      const end = Math.min(nRows, start + batchRows);
      const out = await scorer.score(x.subarray(start * nFeatures, end * nFeatures), end - start);
      score.set(out.score, start);
      outlier.set(out.outlier, start);
    }
    return { score, outlier };
  } finally {
    await scorer.release();
  }
}
