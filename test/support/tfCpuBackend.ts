import * as tf from '@tensorflow/tfjs';
import { beforeAll } from 'vitest';

/**
 * Runs the calling file's TensorFlow.js on the plain JavaScript CPU backend (float32 kernels, the
 * reference the ONNX and parity checks compare against), set before the file's own hooks.
 */
export function useTfCpuBackend(): void {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
}
