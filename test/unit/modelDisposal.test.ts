import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { disposeModel } from '../../activities/modelInputs';
import { buildModel } from '../../domain/ml/modelBuilder';
import { smallNetworkSpec } from '../support/modelSpecs';
import { useTfCpuBackend } from '../support/tfCpuBackend';

useTfCpuBackend();

/**
 * A worker process runs several activities at once (an evaluation beside an export, a scoring
 * beside a training): freeing one model must leave the others' weights alone.
 */
describe('disposeModel', () => {
  const rows = () => tf.tensor2d([0.1, -0.4, 0.7, 1.2, 0.3, -0.9], [2, 3]);
  const scores = async (model: tf.LayersModel): Promise<number[]> => {
    const x = rows();
    const y = model.predict(x) as tf.Tensor;
    try {
      return Array.from(await y.data());
    } finally {
      tf.dispose([x, y]);
    }
  };

  it("frees one model's own tensors and leaves another model's weights alive", async () => {
    const before = tf.memory().numTensors;
    const first = buildModel(smallNetworkSpec(4, { seed: 1 }), 3);
    const second = buildModel(smallNetworkSpec(4, { seed: 2 }), 3);
    const secondScores = await scores(second);
    expect(tf.memory().numTensors).toBe(before + first.weights.length + second.weights.length);

    disposeModel(first);
    // Exactly the first model's weights are gone; the second still scores as before.
    expect(tf.memory().numTensors).toBe(before + second.weights.length);
    expect(await scores(second)).toEqual(secondScores);

    disposeModel(second);
    expect(tf.memory().numTensors).toBe(before);
  });
});
