import type * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { applyStandardScaler } from '../ml/scaler';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { predictProbabilities } from '../ml/train';
import { OnnxExportError } from './errors';
import { INPUT_NAME, PROBABILITY_OUTPUT } from './exporter';

export interface ParityReport {
  maxAbsDiff: number;
  meanAbsDiff: number;
  rowsCompared: number;
  worstRow: number;
}

/** Scores raw rows with onnxruntime, in batches to bound memory. */
export async function scoreWithOnnx(
  onnxBytes: Uint8Array,
  rawX: Float32Array,
  nRows: number,
  nFeatures: number,
  batchRows = 8192,
) {
  const session = await ort.InferenceSession.create(onnxBytes);
  try {
    const out = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += batchRows) {
      const end = Math.min(nRows, start + batchRows);
      const input = new ort.Tensor('float32', rawX.slice(start * nFeatures, end * nFeatures), [
        end - start,
        nFeatures,
      ]);
      const result = await session.run({ [INPUT_NAME]: input });
      out.set(result[PROBABILITY_OUTPUT]?.data as Float32Array, start);
    }
    return out;
  } finally {
    await session.release();
  }
}

/**
 * The parity gate: the file must give the same probabilities as the model that was evaluated,
 * on the same raw rows, within `tolerance`; otherwise the export fails and nothing is written.
 */
export async function checkParity(options: {
  onnxBytes: Uint8Array;
  model: tf.LayersModel;
  scaler: StandardScalerParams;
  rawX: Float32Array;
  nRows: number;
  nFeatures: number;
  tolerance?: number;
}): Promise<ParityReport> {
  const { onnxBytes, model, scaler, rawX, nRows, nFeatures } = options;
  const tolerance = options.tolerance ?? 1e-5;
  const fromOnnx = await scoreWithOnnx(onnxBytes, rawX, nRows, nFeatures);
  const fromTfjs = await predictProbabilities(
    model,
    applyStandardScaler(scaler, rawX, nFeatures),
    nRows,
    nFeatures,
  );
  let maxAbsDiff = 0;
  let sum = 0;
  let worstRow = 0;
  for (let i = 0; i < nRows; i++) {
    const d = Math.abs((fromOnnx[i] as number) - (fromTfjs[i] as number));
    sum += d;
    if (d > maxAbsDiff || Number.isNaN(d)) {
      maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      worstRow = i;
    }
  }
  const report = { maxAbsDiff, meanAbsDiff: nRows ? sum / nRows : 0, rowsCompared: nRows, worstRow };
  if (maxAbsDiff > tolerance) {
    throw new OnnxExportError(
      'ExportParityError',
      `The ONNX file disagrees with the evaluated model: max |difference| ${maxAbsDiff.toExponential(3)} > ${tolerance} ` +
        `at held-out row ${worstRow} (ONNX ${fromOnnx[worstRow]}, tfjs ${fromTfjs[worstRow]}). Nothing was written.`,
      { ...report },
    );
  }
  return report;
}
