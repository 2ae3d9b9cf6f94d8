import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import { type AutoencoderWeights, reconstructionErrors } from '../ml/autoencoder';
import { categoryTexts, numericPart } from '../ml/categoricalEncoding';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { scoreAnomalyMatrix } from '../scoring/anomalyScorer';
import { categoricalInputs, ML_DOMAIN, ML_OPSET } from './categoricalInputs';
import { OnnxExportError } from './errors';
import { irVersionFor } from './exporter';
import { BATCH_DIM, denseLayerNodes, floatTensor, inputScaling, tensorType } from './graphParts';
import { AttributeType, encodeModel, type ModelDef, type NodeDef, type TensorDef } from './onnxProto';

export interface AnomalyExportInput {
  weights: AutoencoderWeights;
  scaler: StandardScalerParams;
  /** anomaly_score above which a row is an outlier. */
  threshold: number;
  modelName: string;
  producerVersion: string;
  datasetSha256: string;
  runId: string;
}

/** Opset 13: ReduceMean takes its axes as an attribute there, as every runtime of that era reads it. */
const OPSET = 13;

/**
 * The autoencoder as ONNX: raw features in (scaling inside the graph, Sub then Div), the dense
 * layers (Gemm, Tanh), the mean squared reconstruction error out as `anomaly_score` [N, 1]
 * (higher is more anomalous), and `predicted_outlier` = threshold - anomaly_score [N, 1],
 * negative for outliers as scikit-learn's decision_function is.
 */
export function buildAnomalyOnnx(input: AnomalyExportInput): Uint8Array {
  const { weights, scaler, threshold } = input;
  const nFeatures = weights.nFeatures;
  const scaling = inputScaling({ center: scaler.mean, divisor: scaler.std }, nFeatures);
  const initializer: TensorDef[] = [...scaling.initializer, floatTensor('threshold', [], [threshold])];
  const node: NodeDef[] = [];
  // Without categorical features the graph is what it always was (one float input, read as is).
  const encoded = categoricalInputs(
    scaler,
    node,
    initializer,
    (name) =>
      [...scaling.names, 'threshold'].includes(name) ||
      /^(dense_|residual|squared|anomaly_score|predicted_outlier)/.test(name),
  );
  const scaled = scaling.nodes(encoded.features);
  node.push(...scaled.node);
  let previous = scaled.output;
  weights.layers.forEach((layer, i) => {
    const name = `dense_${i}`;
    // A linear layer's output keeps the name of its Gemm's (`dense_<i>_linear`), as the files exported before.
    const output = layer.activation === 'linear' ? `${name}_linear` : name;
    const dense = denseLayerNodes(
      {
        name,
        inputs: layer.nIn,
        units: layer.nOut,
        activation: layer.activation,
        kernel: layer.weights,
        bias: layer.bias,
      },
      previous,
      output,
    );
    initializer.push(...dense.initializer);
    node.push(...dense.node);
    previous = output;
  });
  node.push(
    { name: 'residual', opType: 'Sub', input: [previous, scaled.output], output: ['residual'] },
    { name: 'squared', opType: 'Mul', input: ['residual', 'residual'], output: ['squared'] },
    {
      name: 'mean_squared_error',
      opType: 'ReduceMean',
      input: ['squared'],
      output: [ANOMALY_SCORE_OUTPUT],
      attribute: [
        { name: 'axes', type: AttributeType.INTS, ints: [1] },
        { name: 'keepdims', type: AttributeType.INT, i: 1 },
      ],
    },
    {
      name: 'outlier_margin',
      opType: 'Sub',
      input: ['threshold', ANOMALY_SCORE_OUTPUT],
      output: [PREDICTED_OUTLIER_OUTPUT],
    },
  );
  const model: ModelDef = {
    irVersion: irVersionFor(OPSET),
    producerName: 'slipway',
    producerVersion: input.producerVersion,
    modelVersion: 1,
    docString:
      `Anomaly model (dense autoencoder) over ${nFeatures} raw features in this order: ${scaler.features.join(', ')}. ` +
      encoded.doc +
      `Scaling happens inside the graph. Outputs: ${ANOMALY_SCORE_OUTPUT} = mean squared reconstruction error ` +
      `(higher is more anomalous); ${PREDICTED_OUTLIER_OUTPUT} = ${threshold} - ${ANOMALY_SCORE_OUTPUT}, negative for outliers.`,
    opsetImport: [
      { domain: '', version: OPSET },
      ...(encoded.categorical ? [{ domain: ML_DOMAIN, version: ML_OPSET }] : []),
    ],
    graph: {
      name: input.modelName,
      node,
      initializer,
      input: encoded.inputs,
      output: [
        { name: ANOMALY_SCORE_OUTPUT, type: tensorType([BATCH_DIM, 1]) },
        { name: PREDICTED_OUTLIER_OUTPUT, type: tensorType([BATCH_DIM, 1]) },
      ],
    },
    metadataProps: Object.entries({
      'slipway.model_name': input.modelName,
      'slipway.kind': 'anomaly',
      'slipway.features': JSON.stringify(scaler.features),
      'slipway.threshold': String(threshold),
      ...(encoded.categorical ? { 'slipway.categorical': encoded.categorical } : {}),
      'slipway.dataset_sha256': input.datasetSha256,
      'slipway.run_id': input.runId,
      'slipway.producer': 'slipway',
      'slipway.producer_version': input.producerVersion,
    }).map(([key, value]) => ({ key, value })),
  };
  return encodeModel(model);
}

/**
 * Tolerance of the parity gate, relative to 1 + |exact score|. Not a derived rounding bound (as
 * the classifier's is): float32 scaling, a few small Gemms and a mean of squares differ from the
 * float64 model by about 1e-6 relative on these networks; 1e-4 leaves room for any summation
 * order and still catches a wrong scaler, a swapped activation or a wrong weight, which move
 * scores by orders of magnitude more.
 */
export const ANOMALY_PARITY_TOLERANCE = 1e-4;

export interface AnomalyParity {
  rowsCompared: number;
  maxAbsDiff: number;
  /** Worst |onnx - exact| / (tolerance x (1 + |exact|)); above 1 fails. */
  worstToleranceUsed: number;
  /** Rows whose outlier flag differs between onnxruntime and the exact model (all within tolerance of the threshold). */
  flagDifferences: number;
}

/**
 * The export's parity gate for an anomaly model: onnxruntime's anomaly_score and
 * predicted_outlier on the given raw rows (as the snapshot holds them: categorical cells as codes) against the exact float64 model the version was
 * trained as. Refuses (non-retryable, nothing stored) when a score leaves the tolerance or an
 * outlier flag differs on a row not within tolerance of the threshold.
 */
export async function checkAnomalyParity(
  onnx: Uint8Array,
  weights: AutoencoderWeights,
  scaler: StandardScalerParams,
  threshold: number,
  raw: Float32Array,
  nRows: number,
): Promise<AnomalyParity> {
  const exact = reconstructionErrors(weights, scaler, raw, nRows);
  // onnxruntime gets the rows as apply reads them: the numeric features, and each categorical
  // one as its text (the snapshot's code decoded), which the graph encodes itself.
  const encoding = scaler.categorical?.columns.length ? scaler.categorical : undefined;
  const numeric = numericPart(encoding, raw, nRows, weights.nFeatures);
  const { score, outlier } = await scoreAnomalyMatrix(
    onnx,
    numeric,
    nRows,
    weights.nFeatures - (encoding?.columns.length ?? 0),
    8192,
    encoding
      ? {
          names: encoding.columns.map((c) => c.feature),
          texts: categoryTexts(encoding, raw, nRows, weights.nFeatures),
        }
      : undefined,
  );
  let worst = { used: 0, row: -1, diff: 0 };
  let maxAbsDiff = 0;
  let flagDifferences = 0;
  for (let r = 0; r < nRows; r++) {
    const e = exact[r] as number;
    const allowed = ANOMALY_PARITY_TOLERANCE * (1 + Math.abs(e));
    const diff = Math.abs((score[r] as number) - e);
    const marginDiff = Math.abs((outlier[r] as number) - (threshold - e));
    const used = Math.max(diff, marginDiff) / allowed;
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    if (!(used <= worst.used)) worst = { used, row: r, diff };
    const exactFlag = threshold - e < 0;
    if ((outlier[r] as number) < 0 !== exactFlag) {
      if (Math.abs(threshold - e) > allowed) {
        throw new OnnxExportError(
          'ExportParityError',
          `The exported anomaly model flags held-out row ${r} differently from the trained model: exact score ` +
            `${e.toPrecision(7)}, threshold ${threshold.toPrecision(7)}, onnxruntime predicted_outlier ${outlier[r]}. ` +
            'Nothing was stored.',
          { row: r },
        );
      }
      flagDifferences++;
    }
  }
  if (worst.used > 1) {
    throw new OnnxExportError(
      'ExportParityError',
      `onnxruntime's anomaly_score differs from the trained (float64) model at held-out row ${worst.row} by ` +
        `${worst.diff.toExponential(3)}, ${worst.used.toFixed(1)} x the tolerance ${ANOMALY_PARITY_TOLERANCE} x (1 + |score|). ` +
        'The graph does not compute what was trained; nothing was stored.',
      { row: worst.row, toleranceUsed: worst.used },
    );
  }
  return { rowsCompared: nRows, maxAbsDiff, worstToleranceUsed: worst.used, flagDifferences };
}
