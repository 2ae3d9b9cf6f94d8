import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { KerasAdamOptimizer } from '../../domain/ml/kerasAdam';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Keras 3's Adam (keras/src/optimizers/adam.py), in float64, for a few fixed gradients. */
function kerasAdam(w0: number[], grads: number[][], lr: number): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  grads.forEach((g, step) => {
    const t = step + 1;
    const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    g.forEach((gi, j) => {
      m[j] = (m[j] as number) + (gi - (m[j] as number)) * (1 - b1);
      v[j] = (v[j] as number) + (gi * gi - (v[j] as number)) * (1 - b2);
      w[j] = (w[j] as number) - ((m[j] as number) * alpha) / (Math.sqrt(v[j] as number) + eps);
    });
  });
  return w;
}

describe('KerasAdamOptimizer', () => {
  // Gradients from 1e-8 (the size the reference class weights give, where epsilon's place
  // matters) to 1: Keras's formula and tfjs's differ by up to 30x on the small ones.
  const grads = [
    [1e-8, -3e-8, 0.5, -1],
    [2e-8, -1e-8, 0.25, 1],
    [-1e-8, 4e-8, 0.125, -0.5],
  ];
  const w0 = [0.1, -0.2, 0.3, -0.4];

  it('steps as Keras does, to float32 rounding', () => {
    const w = tf.variable(tf.tensor1d(w0), true, 'kerasAdamW');
    const optimizer = new KerasAdamOptimizer(0.01);
    for (const g of grads) optimizer.applyGradients({ [w.name]: tf.tensor1d(g) });
    const got = Array.from(w.dataSync());
    const want = kerasAdam(w0, grads, 0.01);
    got.forEach((value, j) => {
      expect(Math.abs(value - (want[j] as number))).toBeLessThan(1e-6);
    });
    // tfjs's own Adam lands elsewhere on the tiny gradients: the test can tell the two apart.
    const t = tf.variable(tf.tensor1d(w0), true, 'tfjsAdamW');
    const tfjs = tf.train.adam(0.01);
    for (const g of grads) tfjs.applyGradients([{ name: t.name, tensor: tf.tensor1d(g) }]);
    expect(Math.abs((t.dataSync()[0] as number) - (want[0] as number))).toBeGreaterThan(1e-3);
    optimizer.dispose();
    tfjs.dispose();
  });

  it('keeps tfjs Adam slot names, so checkpoints keep their format', async () => {
    const w = tf.variable(tf.tensor1d(w0), true, 'slots');
    const optimizer = new KerasAdamOptimizer(0.01);
    optimizer.applyGradients({ [w.name]: tf.tensor1d(grads[0] as number[]) });
    const names = (await optimizer.getWeights()).map((x) => x.name);
    expect(names).toEqual(['iter', 'slots/m', 'slots/v']);
    optimizer.dispose();
  });
});
