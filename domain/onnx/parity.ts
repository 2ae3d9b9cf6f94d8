import type * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { applyStandardScaler } from '../ml/scaler';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { predictProbabilities } from '../ml/train';
import { ExportParityError, OnnxExportError } from './errors';
import { INPUT_NAME, LABEL_OUTPUT, PROBABILITY_OUTPUT } from './exporter';

/**
 * A row passes when |p_onnx - p_tfjs| <= tolerance + relativeTolerance * p_tfjs (numpy's allclose).
 * 1e-5 absolute alone (issue 4's first figure) rejected legitimate models: onnxruntime and the
 * BLAS GEMM that trained the model sum 256-wide float32 dot products in different orders, and on a
 * model with large activations that moved a probability near 0.5 by 4.4e-5 (a logit difference of
 * 1.8e-4). The relative part allows such a logit difference (about 2e-4) at any probability, and
 * still catches a 1e-3 change of the last bias (2.5e-4 near 0.5) or any wrong scaler or weight.
 */
export const DEFAULT_PARITY_TOLERANCE = 1e-5;
export const DEFAULT_PARITY_RELATIVE_TOLERANCE = 1e-4;
/** Rows per onnxruntime call: 8192 x 30 features is 1 MiB of input, whatever the split size. */
export const DEFAULT_PARITY_BATCH_ROWS = 8192;

export interface ParityReport {
  /** Largest |p_onnx - p_tfjs| over the rows compared. */
  maxAbsDiff: number;
  /** Largest share of its row's allowance a difference used: above 1 fails the gate. */
  worstAllowanceUsed: number;
  meanAbsDiff: number;
  rowsCompared: number;
  /** The row (0-based, within the rows given) that used most of its allowance. */
  worstRow: number;
  onnxAtWorst: number;
  tfjsAtWorst: number;
  tolerance: number;
  relativeTolerance: number;
  /**
   * With a threshold: rows whose ONNX label differs from the evaluated model's (p >= threshold).
   * Within tolerance this can only happen for probabilities a hair from the threshold.
   */
  labelDisagreements?: number;
}

export interface OnnxScores {
  probability: Float32Array;
  label: BigInt64Array;
}

/** Probabilities of raw rows from the ONNX file (see runOnnx). */
export async function scoreWithOnnx(
  onnxBytes: Uint8Array,
  rawX: Float32Array,
  nRows: number,
  nFeatures: number,
  batchRows = DEFAULT_PARITY_BATCH_ROWS,
): Promise<Float32Array> {
  return (await runOnnx(onnxBytes, rawX, nRows, nFeatures, batchRows)).probability;
}

/** Both outputs for raw rows, with onnxruntime, in batches to bound memory; one session for all. */
export async function runOnnx(
  onnxBytes: Uint8Array,
  rawX: Float32Array,
  nRows: number,
  nFeatures: number,
  batchRows = DEFAULT_PARITY_BATCH_ROWS,
): Promise<OnnxScores> {
  const session = await ort.InferenceSession.create(onnxBytes);
  try {
    const probability = new Float32Array(nRows);
    const label = new BigInt64Array(nRows);
    for (let start = 0; start < nRows; start += batchRows) {
      const end = Math.min(nRows, start + batchRows);
      const input = new ort.Tensor('float32', rawX.slice(start * nFeatures, end * nFeatures), [
        end - start,
        nFeatures,
      ]);
      const result = await session.run({ [INPUT_NAME]: input });
      const p = result[PROBABILITY_OUTPUT];
      const l = result[LABEL_OUTPUT];
      if (!p || !l || p.data.length !== end - start || l.data.length !== end - start) {
        throw new OnnxExportError(
          'OnnxStructureError',
          `The ONNX file gave ${p?.data.length ?? 'no'} probabilities and ${l?.data.length ?? 'no'} labels ` +
            `for ${end - start} rows; it must give one of each per row.`,
        );
      }
      probability.set(p.data as Float32Array, start);
      label.set(l.data as BigInt64Array, start);
    }
    return { probability, label };
  } finally {
    await session.release();
  }
}

/**
 * The parity gate: the file must give the same probabilities as the model that was evaluated,
 * on the same raw rows (the held-out split), within `tolerance`. Otherwise it throws
 * ExportParityError, and the caller writes nothing. tfjs sees the rows scaled in JS, ONNX sees
 * them raw and scales inside the graph: the comparison covers the scaler too.
 */
export async function checkParity(options: {
  onnxBytes: Uint8Array;
  model: tf.LayersModel;
  scaler: StandardScalerParams;
  rawX: Float32Array;
  nRows: number;
  nFeatures: number;
  tolerance?: number;
  relativeTolerance?: number;
  /** The threshold the file was exported with; when given, labels are checked as well. */
  threshold?: number;
  batchRows?: number;
}): Promise<ParityReport> {
  const { onnxBytes, model, scaler, rawX, nRows, nFeatures, threshold } = options;
  const tolerance = options.tolerance ?? DEFAULT_PARITY_TOLERANCE;
  const relativeTolerance = options.relativeTolerance ?? DEFAULT_PARITY_RELATIVE_TOLERANCE;
  const batchRows = options.batchRows ?? DEFAULT_PARITY_BATCH_ROWS;
  checkParityInputs(options, tolerance, batchRows);
  checkParityInputs(options, relativeTolerance, batchRows);

  const onnx = await runOnnx(onnxBytes, rawX, nRows, nFeatures, batchRows);
  const tfjs = await predictProbabilities(
    model,
    applyStandardScaler(scaler, rawX, nFeatures),
    nRows,
    nFeatures,
    batchRows,
  );
  let maxAbsDiff = 0;
  let worstAllowanceUsed = 0;
  let sum = 0;
  let worstRow = 0;
  let labelDisagreements = 0;
  for (let i = 0; i < nRows; i++) {
    const a = onnx.probability[i] as number;
    const b = tfjs[i] as number;
    // NaN on either side is a failure, not a difference of NaN that compares false.
    const d = Number.isFinite(a) && Number.isFinite(b) ? Math.abs(a - b) : Number.POSITIVE_INFINITY;
    sum += d;
    maxAbsDiff = Math.max(maxAbsDiff, d);
    const used = d === 0 || !Number.isFinite(d) ? d : d / (tolerance + relativeTolerance * Math.abs(b));
    if (used > worstAllowanceUsed) {
      worstAllowanceUsed = used;
      worstRow = i;
    }
    if (threshold !== undefined) {
      const fileLabel = onnx.label[i] as bigint;
      if (fileLabel !== (a >= threshold ? 1n : 0n)) {
        throw new OnnxExportError(
          'OnnxStructureError',
          `Row ${i}: the ONNX label ${fileLabel} does not follow its own probability ${a} at threshold ${threshold}.`,
        );
      }
      if (fileLabel !== (b >= threshold ? 1n : 0n)) labelDisagreements++;
    }
  }
  const report: ParityReport = {
    maxAbsDiff,
    worstAllowanceUsed,
    meanAbsDiff: sum / nRows,
    rowsCompared: nRows,
    worstRow,
    onnxAtWorst: onnx.probability[worstRow] as number,
    tfjsAtWorst: tfjs[worstRow] as number,
    tolerance,
    relativeTolerance,
    ...(threshold !== undefined ? { labelDisagreements } : {}),
  };
  if (worstAllowanceUsed > 1) {
    const worstDiff = Math.abs(report.onnxAtWorst - report.tfjsAtWorst);
    throw new ExportParityError(
      `The ONNX file disagrees with the evaluated model at held-out row ${worstRow} of ${nRows}: ` +
        `ONNX ${report.onnxAtWorst}, tfjs ${report.tfjsAtWorst}, |difference| ${worstDiff.toExponential(3)} > ` +
        `${tolerance} + ${relativeTolerance} x ${Math.abs(report.tfjsAtWorst).toPrecision(4)} ` +
        `(max |difference| over all rows ${maxAbsDiff.toExponential(3)}). ` +
        'Nothing was written; this is a bug in the exporter or a model changed after evaluation.',
      {
        maxAbsDiff,
        tolerance,
        relativeTolerance,
        worstRow,
        onnxValue: report.onnxAtWorst,
        tfjsValue: report.tfjsAtWorst,
        rowsCompared: nRows,
      },
    );
  }
  return report;
}

function checkParityInputs(
  options: { rawX: Float32Array; nRows: number; nFeatures: number; scaler: StandardScalerParams },
  tolerance: number,
  batchRows: number,
): void {
  const { rawX, nRows, nFeatures, scaler } = options;
  const bad = (message: string): never => {
    throw new OnnxExportError('ParityDataMismatch', message);
  };
  // A gate over no rows would pass anything.
  if (!Number.isInteger(nRows) || nRows < 1) {
    bad(`The parity gate needs at least one held-out row, got ${nRows}; use a larger test split.`);
  }
  if (nFeatures !== scaler.features.length) {
    bad(`The held-out rows have ${nFeatures} features, the scaler ${scaler.features.length}.`);
  }
  if (rawX.length !== nRows * nFeatures) {
    bad(`The held-out matrix has ${rawX.length} values, not ${nRows} rows x ${nFeatures} features.`);
  }
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    bad(`The parity tolerance ${tolerance} must be a finite number >= 0.`);
  }
  if (!Number.isInteger(batchRows) || batchRows < 1)
    bad(`batchRows ${batchRows} must be a positive integer.`);
}
