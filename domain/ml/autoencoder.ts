import { z } from 'zod';
import { mulberry32, shuffleInPlace } from '../random';
import { type CategoricalEncoding, encodeCategories } from './categoricalEncoding';

/**
 * A dense autoencoder for anomaly detection, trained in float64 in plain TypeScript: on the
 * scaled features it learns to reproduce normal rows through a narrow bottleneck, and a row's
 * anomaly score is its mean squared reconstruction error (higher is more anomalous).
 *
 * Why not the native trainer: its fused C step has the classifier's loss (weighted binary
 * cross-entropy over a sigmoid) built in; an autoencoder needs a reconstruction loss and a linear
 * output of the input's width. The networks here are small (tens of features, a few hundred
 * weights), so a float64 loop trains them in seconds on one core, deterministically from its
 * seed, and the float64 weights are themselves the exact model the export is judged against.
 */
export const autoencoderSpecSchema = z.object({
  /** Hidden widths from the input to the output, e.g. [16, 4, 16] (4 is the bottleneck). */
  hidden: z.array(z.number().int().min(1).max(1024)).min(1).max(8).default([16, 4, 16]),
  epochs: z.number().int().min(1).max(1000).default(40),
  batchSize: z.number().int().min(1).max(65536).default(256),
  learningRate: z.number().gt(0).max(1).default(0.005),
  seed: z.number().int().min(0).default(7),
});
export type AutoencoderSpec = z.infer<typeof autoencoderSpecSchema>;

export interface AutoencoderLayer {
  nIn: number;
  nOut: number;
  /** Row-major [nIn x nOut], as ONNX Gemm's B. */
  weights: number[];
  bias: number[];
  activation: 'tanh' | 'linear';
}

export interface AutoencoderWeights {
  format: 'slipway-autoencoder-v1';
  nFeatures: number;
  layers: AutoencoderLayer[];
}

export interface AutoencoderEpoch {
  epoch: number;
  loss: number;
}

/** Trains on `nRows` scaled rows of `x` (row-major). Every row counts: no labels are read. */
export function trainAutoencoder(
  x: ArrayLike<number>,
  nRows: number,
  nFeatures: number,
  spec: AutoencoderSpec,
  onEpoch?: (epoch: AutoencoderEpoch) => void,
): { weights: AutoencoderWeights; history: AutoencoderEpoch[] } {
  if (nRows < 1) throw new RangeError('an autoencoder needs at least one training row');
  const random = mulberry32(spec.seed);
  const widths = [nFeatures, ...spec.hidden, nFeatures];
  const layers: AutoencoderLayer[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const nIn = widths[l] as number;
    const nOut = widths[l + 1] as number;
    // Glorot uniform, seeded.
    const limit = Math.sqrt(6 / (nIn + nOut));
    layers.push({
      nIn,
      nOut,
      weights: Array.from({ length: nIn * nOut }, () => (2 * random() - 1) * limit),
      bias: new Array<number>(nOut).fill(0),
      activation: l + 2 === widths.length ? 'linear' : 'tanh',
    });
  }
  const adam = layers.map((layer) => ({
    mW: new Float64Array(layer.weights.length),
    vW: new Float64Array(layer.weights.length),
    mB: new Float64Array(layer.bias.length),
    vB: new Float64Array(layer.bias.length),
  }));
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-7;
  let step = 0;
  const order = new Uint32Array(nRows).map((_, i) => i);
  const history: AutoencoderEpoch[] = [];
  const B = Math.min(spec.batchSize, nRows);
  // Activations per layer for one batch (index 0 is the input).
  const acts = widths.map((w) => new Float64Array(B * w));
  const grads = widths.map((w) => new Float64Array(B * w));
  for (let epoch = 1; epoch <= spec.epochs; epoch++) {
    shuffleInPlace(order, random);
    let lossSum = 0;
    for (let start = 0; start < nRows; start += B) {
      const rows = Math.min(B, nRows - start);
      const input = acts[0] as Float64Array;
      for (let r = 0; r < rows; r++) {
        const src = (order[start + r] as number) * nFeatures;
        for (let j = 0; j < nFeatures; j++) input[r * nFeatures + j] = x[src + j] as number;
      }
      forward(layers, acts, rows);
      // d(mean squared error over rows x features) / d(output)
      const out = acts[layers.length] as Float64Array;
      const gOut = grads[layers.length] as Float64Array;
      const scale = 2 / (rows * nFeatures);
      for (let k = 0; k < rows * nFeatures; k++) {
        const d = (out[k] as number) - (input[k] as number);
        lossSum += d * d;
        gOut[k] = scale * d;
      }
      step++;
      for (let l = layers.length - 1; l >= 0; l--) {
        const layer = layers[l] as AutoencoderLayer;
        const a = acts[l + 1] as Float64Array;
        const g = grads[l + 1] as Float64Array;
        if (layer.activation === 'tanh') {
          for (let k = 0; k < rows * layer.nOut; k++) g[k] = (g[k] as number) * (1 - (a[k] as number) ** 2);
        }
        const prev = acts[l] as Float64Array;
        const gW = new Float64Array(layer.nIn * layer.nOut);
        const gB = new Float64Array(layer.nOut);
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < layer.nOut; o++) {
            const go = g[r * layer.nOut + o] as number;
            gB[o] = (gB[o] as number) + go;
            for (let i = 0; i < layer.nIn; i++) {
              gW[i * layer.nOut + o] =
                (gW[i * layer.nOut + o] as number) + (prev[r * layer.nIn + i] as number) * go;
            }
          }
        }
        if (l > 0) {
          const gPrev = grads[l] as Float64Array;
          for (let r = 0; r < rows; r++) {
            for (let i = 0; i < layer.nIn; i++) {
              let s = 0;
              for (let o = 0; o < layer.nOut; o++)
                s += (g[r * layer.nOut + o] as number) * (layer.weights[i * layer.nOut + o] as number);
              gPrev[r * layer.nIn + i] = s;
            }
          }
        }
        const state = adam[l] as (typeof adam)[number];
        adamUpdate(layer.weights, gW, state.mW, state.vW, spec.learningRate, step, beta1, beta2, eps);
        adamUpdate(layer.bias, gB, state.mB, state.vB, spec.learningRate, step, beta1, beta2, eps);
      }
    }
    const entry = { epoch, loss: lossSum / (nRows * nFeatures) };
    history.push(entry);
    onEpoch?.(entry);
  }
  return { weights: { format: 'slipway-autoencoder-v1', nFeatures, layers }, history };
}

function adamUpdate(
  params: number[],
  grad: Float64Array,
  m: Float64Array,
  v: Float64Array,
  lr: number,
  step: number,
  beta1: number,
  beta2: number,
  eps: number,
): void {
  const c1 = 1 - beta1 ** step;
  const c2 = 1 - beta2 ** step;
  for (let k = 0; k < params.length; k++) {
    const g = grad[k] as number;
    m[k] = beta1 * (m[k] as number) + (1 - beta1) * g;
    v[k] = beta2 * (v[k] as number) + (1 - beta2) * g * g;
    params[k] =
      (params[k] as number) - (lr * ((m[k] as number) / c1)) / (Math.sqrt((v[k] as number) / c2) + eps);
  }
}

function forward(layers: AutoencoderLayer[], acts: Float64Array[], rows: number): void {
  layers.forEach((layer, l) => {
    const inp = acts[l] as Float64Array;
    const out = acts[l + 1] as Float64Array;
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < layer.nOut; o++) {
        let s = layer.bias[o] as number;
        for (let i = 0; i < layer.nIn; i++)
          s += (inp[r * layer.nIn + i] as number) * (layer.weights[i * layer.nOut + o] as number);
        out[r * layer.nOut + o] = layer.activation === 'tanh' ? Math.tanh(s) : s;
      }
    }
  });
}

/**
 * The exact (float64) anomaly score of each row of raw features: standard scaling with the
 * given mean and std, then the mean squared reconstruction error. What training thresholds on,
 * evaluation ranks by, and the ONNX export's parity gate compares onnxruntime with.
 */
export function reconstructionErrors(
  weights: AutoencoderWeights,
  scaler: { mean: number[]; std: number[]; categorical?: CategoricalEncoding },
  snapshotRows: ArrayLike<number>,
  nRows: number,
): Float64Array {
  const F = weights.nFeatures;
  // Rows as the snapshot holds them: categorical cells are codes, encoded here as in training.
  const raw = scaler.categorical?.columns.length
    ? encodeCategories(scaler.categorical, Float32Array.from(snapshotRows), F)
    : snapshotRows;
  const widths = [F, ...weights.layers.map((l) => l.nOut)];
  const batch = 1024;
  const acts = widths.map((w) => new Float64Array(batch * w));
  const scores = new Float64Array(nRows);
  for (let start = 0; start < nRows; start += batch) {
    const rows = Math.min(batch, nRows - start);
    const input = acts[0] as Float64Array;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < F; j++) {
        input[r * F + j] =
          ((raw[(start + r) * F + j] as number) - (scaler.mean[j] as number)) / (scaler.std[j] as number);
      }
    }
    forward(weights.layers, acts, rows);
    const out = acts[weights.layers.length] as Float64Array;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < F; j++) s += ((out[r * F + j] as number) - (input[r * F + j] as number)) ** 2;
      scores[start + r] = s / F;
    }
  }
  return scores;
}

/**
 * The threshold that flags a `contamination` share of `scores`: halfway between the smallest
 * score of the top ceil(contamination x n) rows and the next one down, so those rows (ties
 * aside) score strictly above it and their predicted_outlier = threshold - score is negative.
 */
export function contaminationThreshold(scores: ArrayLike<number>, contamination: number): number {
  const sorted = Float64Array.from(scores).sort();
  const n = sorted.length;
  const flagged = Math.min(n, Math.max(1, Math.ceil(contamination * n)));
  const lowestFlagged = sorted[n - flagged] as number;
  const highestKept = n - flagged - 1 >= 0 ? (sorted[n - flagged - 1] as number) : lowestFlagged;
  return (lowestFlagged + highestKept) / 2;
}

export function encodeAutoencoder(weights: AutoencoderWeights): string {
  return `${JSON.stringify(weights)}\n`;
}

const layerSchema = z.object({
  nIn: z.number().int().min(1),
  nOut: z.number().int().min(1),
  weights: z.array(z.number()),
  bias: z.array(z.number()),
  activation: z.enum(['tanh', 'linear']),
});
const weightsSchema = z.object({
  format: z.literal('slipway-autoencoder-v1'),
  nFeatures: z.number().int().min(1),
  layers: z.array(layerSchema).min(1),
});

export function decodeAutoencoder(text: string): AutoencoderWeights {
  return weightsSchema.parse(JSON.parse(text));
}
