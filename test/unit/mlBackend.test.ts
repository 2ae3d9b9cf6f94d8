import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../domain/ml/backend';
import { TrainingInputError } from '../../domain/ml/errors';
import { loadNativeGemm } from '../../domain/ml/nativeGemm';

describe('backend selection', () => {
  afterEach(() => {
    delete process.env.SLIPWAY_TF_BACKEND;
  });

  it('forces the CPU backend, and a repeat call returns the same choice', async () => {
    const first = await selectBackend({ force: 'cpu' });
    expect(first.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await selectBackend({ force: 'cpu' })).toBe(first);
  });

  it('reads SLIPWAY_TF_BACKEND, and notices a backend switched behind its back', async () => {
    process.env.SLIPWAY_TF_BACKEND = 'wasm';
    const choice = await selectBackend();
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await tf.setBackend('cpu');
    expect((await selectBackend()).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('gives wasm-blas exactly when the native GEMM addon loads, else a clear error', async () => {
    const addon = loadNativeGemm();
    if (addon.ok) {
      const choice = await selectBackend({ force: 'wasm-blas' });
      expect(choice.name).toBe('wasm-blas');
      expect(tf.getBackend()).toBe('wasm');
    } else {
      await expect(selectBackend({ force: 'wasm-blas' })).rejects.toBeInstanceOf(TrainingInputError);
    }
  });

  it('offers the native trainer first, naming the BLAS build, its kernel and threads', async () => {
    const choice = await selectBackend({ force: 'native' });
    expect(choice.name).toBe('native');
    expect(choice.details).toMatch(/; kernel \S+; [12] trainer threads?, 1 BLAS thread each$/);
    expect(['wasm', 'cpu']).toContain(tf.getBackend()); // the tfjs engine for building and export
  });

  it('without tfjs-node installed, forcing tensorflow fails with the reason; an unknown name is refused', async () => {
    let hasTfjsNode = true;
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      hasTfjsNode = false;
    }
    if (!hasTfjsNode) {
      const err = await selectBackend({ force: 'tensorflow' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingInputError);
      expect((err as TrainingInputError).type).toBe('BackendUnavailable');
      expect((err as Error).message).toMatch(/tfjs-node/);
    }
    await expect(selectBackend({ force: 'gpu' })).rejects.toThrow(/Unknown backend "gpu"/);
  });
});
