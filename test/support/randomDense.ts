import { type DenseActivation, denseActivations } from '../../domain/ml/modelSpec';
import { fitStandardScaler } from '../../domain/ml/scaler';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import type { DenseLayerWeights } from '../../domain/onnx/denseLayers';
import { INPUT_NAME } from '../../domain/onnx/exporter';
import type { ModelDef } from '../../domain/onnx/onnxProto';
import { activate } from '../../domain/onnx/reference';
import { gaussian, mulberry32 } from '../../domain/random';

/** A random dense network and raw rows for it, as the property tests draw them. */
export interface RandomCase {
  layers: DenseLayerWeights[];
  scaler: StandardScalerParams;
  x: Float32Array;
  nRows: number;
  nFeatures: number;
}

/**
 * Widths log-uniform from 1 to `maxWidth`, 1 to `maxDepth` dense layers (the last Dense(1,
 * sigmoid)), random hidden activations, He/Glorot-like weights with a random gain, and raw
 * features at scales from 1e-3 to 1e5 with offsets, scaled by a scaler fitted on the rows.
 */
export function randomCase(
  seed: number,
  options: { maxWidth?: number; maxDepth?: number; nRows?: number; maxWeights?: number } = {},
): RandomCase {
  const { maxWidth = 512, maxDepth = 6, nRows = 64, maxWeights = 1 << 15 } = options;
  const random = mulberry32(seed);
  const normal = gaussian(random);
  const logUniformInt = (max: number) => Math.min(max, Math.floor(Math.exp(random() * Math.log(max + 1))));
  const nFeatures = Math.max(1, logUniformInt(64));
  const depth = 1 + Math.floor(random() * maxDepth);
  const x = new Float32Array(nRows * nFeatures);
  for (let j = 0; j < nFeatures; j++) {
    const scale = 10 ** (-3 + 8 * random());
    const offset = scale * 3 * normal();
    for (let r = 0; r < nRows; r++) x[r * nFeatures + j] = offset + scale * normal();
  }
  const features = Array.from({ length: nFeatures }, (_, j) => `f${j}`);
  const scaler = fitStandardScaler(x, nRows, nFeatures, features);
  // Widths drawn again until the network has at most maxWeights weights, which keeps the test's
  // time bounded while still drawing 512-wide layers (next to narrower ones) and 6-deep stacks.
  let widths: number[];
  do {
    // One hidden width in 16 is the largest allowed, so the edge is drawn, not just approached.
    widths = Array.from({ length: depth }, (_, l) =>
      l === depth - 1 ? 1 : random() < 1 / 16 ? maxWidth : Math.max(1, logUniformInt(maxWidth)),
    );
  } while (
    widths.reduce((sum, w, l) => sum + w * (l === 0 ? nFeatures : (widths[l - 1] as number)), 0) > maxWeights
  );
  const layers: DenseLayerWeights[] = [];
  let inputs = nFeatures;
  for (let l = 0; l < depth; l++) {
    const last = l === depth - 1;
    const units = widths[l] as number;
    const activation: DenseActivation = last
      ? 'sigmoid'
      : (denseActivations[Math.floor(random() * denseActivations.length)] as DenseActivation);
    const gain = (0.5 + 2 * random()) / Math.sqrt(inputs);
    const kernel = new Float32Array(inputs * units);
    for (let k = 0; k < kernel.length; k++) kernel[k] = gain * normal();
    const bias = new Float32Array(units);
    for (let i = 0; i < units; i++) bias[i] = 0.3 * normal();
    layers.push({ name: `dense_${l}`, inputs, units, activation, kernel, bias });
    inputs = units;
  }
  return { layers, scaler, x, nRows, nFeatures };
}

/**
 * A float32 engine in plain JS: the scaler as the graph does it (Sub, Div on float32 mean and
 * std), every product and sum rounded to float32, dot products summed forwards or in reverse
 * (another order than any BLAS), activations evaluated in float64 and rounded.
 */
export function float32Forward(
  c: RandomCase,
  order: 'forward' | 'reverse',
  layers: DenseLayerWeights[] = c.layers,
): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(c.nRows);
  const mean = Float32Array.from(c.scaler.mean);
  const std = Float32Array.from(c.scaler.std);
  // Kernels transposed to [units, inputs], so each dot product reads contiguous memory.
  const transposed = layers.map((layer) => {
    const t = new Float32Array(layer.inputs * layer.units);
    for (let j = 0; j < layer.inputs; j++)
      for (let i = 0; i < layer.units; i++)
        t[i * layer.inputs + j] = layer.kernel[j * layer.units + i] as number;
    return t;
  });
  for (let r = 0; r < c.nRows; r++) {
    let a = new Float32Array(c.nFeatures);
    for (let j = 0; j < c.nFeatures; j++)
      a[j] = f(f((c.x[r * c.nFeatures + j] as number) - (mean[j] as number)) / (std[j] as number));
    layers.forEach((layer, l) => {
      const kernel = transposed[l] as Float32Array;
      const n = layer.inputs;
      const next = new Float32Array(layer.units);
      for (let i = 0; i < layer.units; i++) {
        const row = i * n;
        let s = 0;
        if (order === 'forward') {
          for (let j = 0; j < n; j++) s = f(s + f((kernel[row + j] as number) * (a[j] as number)));
          s = f(s + (layer.bias[i] as number));
        } else {
          for (let j = n - 1; j >= 0; j--) s = f(s + f((kernel[row + j] as number) * (a[j] as number)));
          s = f((layer.bias[i] as number) + s);
        }
        next[i] = f(activate(layer.activation, s));
      }
      a = next;
    });
    out[r] = a[0] as number;
  }
  return out;
}

/**
 * For each row, the exact (float64) activations entering every layer and the gradient of the
 * output logit with respect to every layer's pre-activations, by backpropagation. The property
 * test uses them to aim faults where their exact effect on the logit is largest.
 */
export function exactActivationsAndGradients(
  c: RandomCase,
  nRows = c.nRows,
): {
  inputs: Float64Array[][];
  gradients: Float64Array[][];
} {
  const inputs: Float64Array[][] = [];
  const gradients: Float64Array[][] = [];
  for (let r = 0; r < nRows; r++) {
    const acts: Float64Array[] = [];
    const pre: Float64Array[] = [];
    let a = new Float64Array(c.nFeatures);
    for (let j = 0; j < c.nFeatures; j++)
      a[j] =
        ((c.x[r * c.nFeatures + j] as number) - (c.scaler.mean[j] as number)) / (c.scaler.std[j] as number);
    for (const layer of c.layers) {
      acts.push(a);
      const z = new Float64Array(layer.units);
      for (let i = 0; i < layer.units; i++) {
        let s = layer.bias[i] as number;
        for (let j = 0; j < layer.inputs; j++)
          s += (layer.kernel[j * layer.units + i] as number) * (a[j] as number);
        z[i] = s;
      }
      pre.push(z);
      a = Float64Array.from(z, (v) => activate(layer.activation, v));
    }
    const grads: Float64Array[] = new Array(c.layers.length);
    let g = Float64Array.of(1); // d logit / d (last pre-activation)
    for (let l = c.layers.length - 1; l >= 0; l--) {
      grads[l] = g;
      if (l === 0) break;
      const layer = c.layers[l] as DenseLayerWeights;
      const below = c.layers[l - 1] as DenseLayerWeights;
      const zBelow = pre[l - 1] as Float64Array;
      const gBelow = new Float64Array(layer.inputs);
      for (let j = 0; j < layer.inputs; j++) {
        let s = 0;
        for (let i = 0; i < layer.units; i++)
          s += (layer.kernel[j * layer.units + i] as number) * (g[i] as number);
        gBelow[j] = s * derivative(below.activation, zBelow[j] as number);
      }
      g = gBelow;
    }
    inputs.push(acts);
    gradients.push(grads);
  }
  return { inputs, gradients };
}

function derivative(activation: DenseActivation, z: number): number {
  const h = 1e-6 * Math.max(1, Math.abs(z));
  if (activation === 'relu') return z > 0 ? 1 : 0;
  if (activation === 'linear') return 1;
  return (activate(activation, z + h) - activate(activation, z - h)) / (2 * h);
}

/** Exact (float64) logits of raw rows, without bounds: what a faulty export computes. */
export function exactLogits(
  c: RandomCase,
  layers: DenseLayerWeights[],
  scaler: StandardScalerParams,
): Float64Array {
  const out = new Float64Array(c.nRows);
  const kernels = layers.map((l) => Float64Array.from(l.kernel));
  for (let r = 0; r < c.nRows; r++) {
    let a = new Float64Array(c.nFeatures);
    for (let j = 0; j < c.nFeatures; j++)
      a[j] = ((c.x[r * c.nFeatures + j] as number) - (scaler.mean[j] as number)) / (scaler.std[j] as number);
    layers.forEach((layer, l) => {
      const kernel = kernels[l] as Float64Array;
      const z = Float64Array.from(layer.bias);
      for (let j = 0; j < layer.inputs; j++) {
        const aj = a[j] as number;
        if (aj === 0) continue;
        const row = j * layer.units;
        for (let i = 0; i < layer.units; i++) z[i] = (z[i] as number) + (kernel[row + i] as number) * aj;
      }
      a = l === layers.length - 1 ? z : z.map((v) => activate(layer.activation, v));
    });
    out[r] = a[0] as number;
  }
  return out;
}

/**
 * Several exported graphs side by side in one model, sharing the input: graph k's values are
 * prefixed `v<k>_`, so its probability is `v<k>_probability`. One onnxruntime session then scores
 * a network and all its faulty variants (sessions are the slow part on a loaded machine).
 */
export function sideBySide(models: ModelDef[]): ModelDef {
  const first = models[0] as ModelDef;
  const rename = (k: number, name: string) => (name === INPUT_NAME || name === '' ? name : `v${k}_${name}`);
  return {
    ...first,
    graph: {
      ...first.graph,
      node: models.flatMap((m, k) =>
        m.graph.node.map((n) => ({
          ...n,
          name: rename(k, n.name),
          input: n.input.map((v) => rename(k, v)),
          output: n.output.map((v) => rename(k, v)),
        })),
      ),
      initializer: models.flatMap((m, k) =>
        m.graph.initializer.map((t) => ({ ...t, name: rename(k, t.name) })),
      ),
      output: models.flatMap((m, k) => m.graph.output.map((o) => ({ ...o, name: rename(k, o.name) }))),
    },
  };
}
