import type * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { categoryTexts, numericPart } from '../ml/categoricalEncoding';
import { applyStandardScaler } from '../ml/scaler';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { predictProbabilities } from '../ml/train';
import { encodedFeatures } from '../ml/trainingData';
import type { DenseLayerWeights } from './denseLayers';
import { OnnxExportError } from './errors';
import { INPUT_NAME, LABEL_OUTPUT, PROBABILITY_OUTPUT } from './exporter';
import { judgeParity, type ParityReport } from './parityVerdict';
import { type DenseNetwork, type ReferenceScores, referenceScores } from './reference';
import { rowsForReference } from './referenceRows';

/** Rows per onnxruntime call: 8192 x 30 features is 1 MiB of input, whatever the split size. */
export const DEFAULT_PARITY_BATCH_ROWS = 8192;

export type { ParityReport } from './parityVerdict';

export interface OnnxScores {
  probability: Float32Array;
  label: BigInt64Array;
}

/** Probabilities of raw rows from the ONNX file (see runOnnx). */
export async function scoreWithOnnx(...args: Parameters<typeof runOnnx>): Promise<Float32Array> {
  return (await runOnnx(...args)).probability;
}

/**
 * Both outputs for raw rows, with onnxruntime, in batches to bound memory; one session for all.
 * `sessionOptions` (threads, graph optimisation level) change the order it sums in, not the result
 * beyond float32 rounding; tests use them to show the gate does not depend on them.
 */
export async function runOnnx(
  onnxBytes: Uint8Array,
  rawX: Float32Array,
  nRows: number,
  nFeatures: number,
  batchRows = DEFAULT_PARITY_BATCH_ROWS,
  sessionOptions?: ort.InferenceSession.SessionOptions,
  /** A model with categorical features: its string inputs by name, each one's text per row. */
  categories?: { names: string[]; texts: string[][] },
): Promise<OnnxScores> {
  const session = await ort.InferenceSession.create(onnxBytes, sessionOptions ?? {});
  try {
    const probability = new Float32Array(nRows);
    const label = new BigInt64Array(nRows);
    for (let start = 0; start < nRows; start += batchRows) {
      const end = Math.min(nRows, start + batchRows);
      const input = new ort.Tensor('float32', rawX.slice(start * nFeatures, end * nFeatures), [
        end - start,
        nFeatures,
      ]);
      const feeds: Record<string, ort.Tensor> = nFeatures > 0 ? { [INPUT_NAME]: input } : {};
      categories?.names.forEach((name, c) => {
        feeds[name] = new ort.Tensor('string', (categories.texts[c] as string[]).slice(start, end), [
          end - start,
          1,
        ]);
      });
      const result = await session.run(feeds);
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
 * The parity gate: the file must compute the exported network, judged against the exact (float64)
 * evaluation of the very layers and scaler it was exported from, on the same raw rows (the
 * held-out split), within a float32 rounding bound derived for that network and that row (see
 * reference.ts and judgeParity). The trained model's own predictions are judged the same way, and
 * the two engines must agree within both bounds together. Otherwise it throws ExportParityError,
 * and the caller writes nothing. The trainer sees the rows scaled in JS, onnxruntime sees them raw
 * and scales inside the graph: the comparison covers the scaler too.
 */
export async function checkParity(options: {
  onnxBytes: Uint8Array;
  /** The layers the file was exported from (extractDenseLayers). */
  layers: DenseLayerWeights[];
  /** The evaluated model, whose predictions are the trainer engine's. */
  model: tf.LayersModel;
  scaler: StandardScalerParams;
  rawX: Float32Array;
  nRows: number;
  nFeatures: number;
  /** The threshold the file was exported with; when given, labels are checked as well. */
  threshold?: number;
  batchRows?: number;
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Most rows judged against the exact reference (default REFERENCE_ROWS; see referenceRows.ts). */
  referenceRows?: number;
  /** Called between chunks of the reference pass (a few seconds of CPU each at most), e.g. to heartbeat. */
  onProgress?: () => void;
}): Promise<ParityReport> {
  const { onnxBytes, layers, model, scaler, rawX, nRows, nFeatures, threshold } = options;
  const batchRows = options.batchRows ?? DEFAULT_PARITY_BATCH_ROWS;
  checkParityInputs(options, batchRows);

  // Categorical features: onnxruntime gets the rows as apply reads them (the numeric features, and
  // each categorical one as its text, which the graph encodes); the trainer and the exact
  // reference get them encoded as training did. Without any, rawX for all three, as always.
  const encoding = scaler.categorical?.columns.length ? scaler.categorical : undefined;
  const onnx = encoding
    ? await runOnnx(
        onnxBytes,
        numericPart(encoding, rawX, nRows, nFeatures),
        nRows,
        nFeatures - encoding.columns.length,
        batchRows,
        options.sessionOptions,
        {
          names: encoding.columns.map((c) => c.feature),
          texts: categoryTexts(encoding, rawX, nRows, nFeatures),
        },
      )
    : await runOnnx(onnxBytes, rawX, nRows, nFeatures, batchRows, options.sessionOptions);
  const encodedX = encodedFeatures(scaler, rawX, nFeatures);
  const trainer = await predictProbabilities(
    model,
    applyStandardScaler(scaler, encodedX, nFeatures),
    nRows,
    nFeatures,
    batchRows,
  );
  const judged = rowsForReference(onnx.probability, trainer, threshold, options.referenceRows);
  const reference = await referenceOnRows(
    exportedNetwork(layers, scaler),
    encodedX,
    judged,
    nFeatures,
    options.onProgress,
  );
  return judgeParity({
    reference,
    onnxProbability: onnx.probability,
    onnxLabel: threshold !== undefined ? onnx.label : undefined,
    trainerProbability: trainer,
    threshold,
    judged,
  });
}

/**
 * The reference on the rows `judged` marks, in a full-length result (NaN on the other rows, which
 * judgeParity skips): the rows are gathered, evaluated in chunks, and put back in place.
 */
async function referenceOnRows(
  network: DenseNetwork,
  rawX: Float32Array,
  judged: Uint8Array,
  nFeatures: number,
  onProgress?: () => void,
): Promise<ReferenceScores> {
  const rows = judged.reduce<number[]>((picked, flag, r) => {
    if (flag === 1) picked.push(r);
    return picked;
  }, []);
  const gathered = new Float32Array(rows.length * nFeatures);
  rows.forEach((r, i) => {
    gathered.set(rawX.subarray(r * nFeatures, (r + 1) * nFeatures), i * nFeatures);
  });
  const part = await referenceInChunks(network, gathered, rows.length, nFeatures, onProgress);
  const logit = new Float64Array(judged.length).fill(Number.NaN);
  const logitBound = new Float64Array(judged.length).fill(Number.NaN);
  rows.forEach((r, i) => {
    logit[r] = part.logit[i] as number;
    logitBound[r] = part.logitBound[i] as number;
  });
  return { logit, logitBound };
}

/**
 * Weights x rows per chunk of the reference pass (about 10 ms of one idle core): the event loop
 * gets a turn between chunks, so a training activity in the same worker keeps its heartbeats.
 */
const REFERENCE_CHUNK_WORK = 2_000_000;

/**
 * The reference pass costs about five float64 operations per weight and row (2,000 rows of the
 * 140,000-weight reference network took 10.9 s on a 2-core Intel Xeon at load average 22), so it
 * runs in chunks that yield to the event loop and report progress, instead of blocking the worker
 * for the whole pass.
 */
async function referenceInChunks(
  network: DenseNetwork,
  rawX: Float32Array,
  nRows: number,
  nFeatures: number,
  onProgress?: () => void,
): Promise<ReferenceScores> {
  const logit = new Float64Array(nRows);
  const logitBound = new Float64Array(nRows);
  const weights = network.layers.reduce((sum, l) => sum + l.inputs * l.units, 0);
  const chunkRows = Math.max(1, Math.floor(REFERENCE_CHUNK_WORK / Math.max(1, weights)));
  for (let start = 0; start < nRows; start += chunkRows) {
    const end = Math.min(nRows, start + chunkRows);
    const part = referenceScores(
      network,
      rawX.subarray(start * nFeatures, end * nFeatures),
      end - start,
      nFeatures,
    );
    logit.set(part.logit, start);
    logitBound.set(part.logitBound, start);
    onProgress?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { logit, logitBound };
}

/** The network the exporter writes, for the reference: (x - mean) / std, then the dense layers. */
export function exportedNetwork(layers: DenseLayerWeights[], scaler: StandardScalerParams): DenseNetwork {
  return { scaling: { center: scaler.mean, divisor: scaler.std }, layers };
}

function checkParityInputs(
  options: { rawX: Float32Array; nRows: number; nFeatures: number; scaler: StandardScalerParams },
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
  if (!Number.isInteger(batchRows) || batchRows < 1)
    bad(`batchRows ${batchRows} must be a positive integer.`);
}
