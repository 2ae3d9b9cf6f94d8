import { join } from 'node:path';
import { runJsonChild } from '../lib/child';
import { ensureKerasVenv } from './venv';

/** What bench/keras/train_keras.py prints. */
export interface KerasReport {
  tensorflow: string;
  keras: string;
  numpy: string;
  interOpThreads: number;
  intraOpThreads: number;
  jitCompile: string;
  parameters: number;
  epochs: Array<{ seconds: number; loss: number }>;
  trainSeconds: number;
  predictSeconds: number[];
  maxRssMiB: number;
}

/**
 * Trains and scores the Keras twin on the data folder. `{ unavailable }` when the virtual
 * environment cannot be made (no python3, no package index); a failing script throws.
 */
export async function runKeras(
  dataDir: string,
  timeoutSeconds: number,
  seed?: number,
): Promise<KerasReport | { unavailable: string }> {
  const venv = await ensureKerasVenv();
  if ('missing' in venv) return { unavailable: `Keras could not be installed: ${venv.missing}` };
  const args = [join(__dirname, 'train_keras.py'), dataDir, ...(seed === undefined ? [] : [String(seed)])];
  return runJsonChild<KerasReport>('keras', venv.python, args, { timeoutSeconds });
}

/** Where train_keras.py writes the held-out probabilities of the run with `seed` (runKeras's third argument). */
export const kerasSeedProbabilities = (seed: number) => `keras_test_proba_seed${seed}.f32`;
