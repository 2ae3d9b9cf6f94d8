import type * as tf from '@tensorflow/tfjs';
import { type DenseActivation, denseActivations, type ModelSpec } from '../ml/modelSpec';
import { OnnxExportError } from './errors';

/** One dense layer as the exporter needs it: plain arrays, no tensors, no backend. */
export interface DenseLayerWeights {
  /** The tfjs layer name (`dense_0`...), reused in the graph's value names for traceability. */
  name: string;
  inputs: number;
  units: number;
  activation: DenseActivation;
  /** Row-major [inputs, units], as tfjs stores it and as ONNX Gemm reads B. */
  kernel: Float32Array;
  bias: Float32Array;
}

/**
 * Reads the dense layers out of a trained model and checks them against the spec the model
 * was built from. Dropout is skipped (the identity at inference); any other layer is refused,
 * since leaving it out would export a different function. The activation is taken from the
 * model itself, so a spec that does not describe the model cannot slip through.
 */
export function extractDenseLayers(
  model: tf.LayersModel,
  spec: ModelSpec,
  nFeatures: number,
): DenseLayerWeights[] {
  const denseSpecs = spec.layers.filter((l) => l.type === 'dense');
  const out: DenseLayerWeights[] = [];
  let inputs = nFeatures;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Dropout') continue;
    if (kind !== 'Dense') {
      throw new OnnxExportError(
        'ModelSpecMismatch',
        `Layer "${layer.name}" is a ${kind}, which the ONNX exporter does not translate (only Dense and ` +
          'Dropout). Build the model from a ModelSpec with dense and dropout layers.',
      );
    }
    const at = out.length;
    const expected = denseSpecs[at];
    const config = layer.getConfig() as { activation?: unknown; units?: unknown };
    const activation = String(config.activation);
    if (!(denseActivations as readonly string[]).includes(activation)) {
      throw new OnnxExportError(
        'ModelSpecMismatch',
        `Layer "${layer.name}" uses activation "${activation}"; supported: ${denseActivations.join(', ')}.`,
      );
    }
    const weights = layer.getWeights();
    const [kernel, bias] = weights;
    if (weights.length !== 2 || !kernel || !bias) {
      throw new OnnxExportError(
        'ModelSpecMismatch',
        `Layer "${layer.name}" has ${weights.length} weight tensors; the exporter needs a kernel and a bias.`,
      );
    }
    const [rows, units] = kernel.shape as [number, number];
    if (rows !== inputs || bias.shape[0] !== units || bias.size !== units) {
      throw new OnnxExportError(
        'ModelSpecMismatch',
        `Layer "${layer.name}" has a [${kernel.shape.join(', ')}] kernel and a [${bias.shape.join(', ')}] bias, ` +
          `but it receives ${inputs} values${at === 0 ? ` (the scaler's ${nFeatures} features)` : ''}. ` +
          'The model was built for other features than the scaler was fitted on.',
      );
    }
    if (expected && (expected.units !== units || expected.activation !== activation)) {
      throw new OnnxExportError(
        'ModelSpecMismatch',
        `Dense layer ${at} ("${layer.name}") is Dense(${units}, ${activation}) but the spec says ` +
          `Dense(${expected.units}, ${expected.activation}). Export the model with the spec it was trained from.`,
      );
    }
    const entry: DenseLayerWeights = {
      name: layer.name,
      inputs,
      units,
      activation: activation as DenseActivation,
      kernel: Float32Array.from(kernel.dataSync()),
      bias: Float32Array.from(bias.dataSync()),
    };
    assertFinite(entry);
    out.push(entry);
    inputs = units;
  }
  if (out.length !== denseSpecs.length) {
    throw new OnnxExportError(
      'ModelSpecMismatch',
      `The spec has ${denseSpecs.length} dense layers, the model ${out.length}. Export the model with the spec it was trained from.`,
    );
  }
  const last = out[out.length - 1];
  if (last?.units !== 1 || last.activation !== 'sigmoid') {
    throw new OnnxExportError(
      'ModelSpecMismatch',
      `The last dense layer must be Dense(1, sigmoid) so the output is a probability; it is ` +
        `${last ? `Dense(${last.units}, ${last.activation})` : 'missing'}.`,
    );
  }
  return out;
}

/** A diverged training run leaves NaN or Infinity in the weights; say so rather than ship it. */
function assertFinite(layer: DenseLayerWeights): void {
  for (const [part, values] of [
    ['kernel', layer.kernel],
    ['bias', layer.bias],
  ] as const) {
    let bad = 0;
    for (const v of values) if (!Number.isFinite(v)) bad++;
    if (bad > 0) {
      throw new OnnxExportError(
        'NonFiniteWeights',
        `Layer "${layer.name}" has ${bad} NaN or infinite ${part} values of ${values.length}: training ` +
          'diverged. Lower the learning rate or check the data for extreme values, then train again.',
        { layer: layer.name, part, nonFinite: bad },
      );
    }
  }
}
