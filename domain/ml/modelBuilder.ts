import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../random';
import type { ModelSpec } from './modelSpec';

/**
 * Builds the network a spec describes. Layers are named by position (`dense_0`, `dropout_2`...),
 * so the ONNX exporter and checkpoints can find them; kernels are Glorot-uniform with a seed
 * derived from the spec's seed and the layer's position, so a build is repeatable.
 */
export function buildModel(spec: ModelSpec, nFeatures: number): tf.Sequential {
  const model = tf.sequential();
  spec.layers.forEach((layer, i) => {
    const first = i === 0 ? { inputShape: [nFeatures] } : {};
    if (layer.type === 'dense') {
      model.add(
        tf.layers.dense({
          ...first,
          name: `dense_${i}`,
          units: layer.units,
          activation: layer.activation,
          kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(spec.seed, i) }),
          biasInitializer: 'zeros',
        }),
      );
    } else {
      model.add(
        tf.layers.dropout({
          ...first,
          name: `dropout_${i}`,
          rate: layer.rate,
          seed: deriveSeed(spec.seed, i),
        }),
      );
    }
  });
  return model;
}
