import * as tf from '@tensorflow/tfjs';
import { envNow } from '../../config/env';
import { TrainingInputError } from './errors';
import { disableNativeGemm, enableNativeGemm, loadNativeGemm, type NativeGemmAddon } from './nativeGemm';
import { chooseBlasThreads, describeTrainerThreads, loadNativeTrainer } from './nativeTrainer';

/** Fastest first: the order selectBackend tries them in. */
export const backendNames = ['native', 'tensorflow', 'wasm-blas', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

export interface BackendChoice {
  name: BackendName;
  /** Why this one: what loaded, what did not and why. Goes to logs and model metadata. */
  reason: string;
  /** e.g. the BLAS library behind native and wasm-blas, its kernel and threads. */
  details?: string;
}

let current: BackendChoice | undefined;
/** The tfjs engine that was active when `current` was chosen. */
let currentEngine: string | undefined;

/** The backend chosen in this process, if any (train.ts runs the native trainer when it is `native`). */
export function currentBackend(): BackendChoice | undefined {
  return current;
}

/** "OpenBLAS 0.3.34 ... SkylakeX MAX_THREADS=64; kernel SkylakeX; 2 threads": build, kernel, threads. */
export function describeBlas(
  addon: NativeGemmAddon,
  threads = describeThreads(chooseBlasThreads(addon)),
): string {
  const info = addon.info();
  return `${info.config.trim()}; kernel ${info.core ?? 'unknown'}; ${threads}`;
}

const describeThreads = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;

async function tryTensorflow(): Promise<string | undefined> {
  try {
    // Optional dependency: its install downloads libtensorflow, which fails on registry-only networks.
    require('@tensorflow/tfjs-node');
    if (await tf.setBackend('tensorflow')) return undefined;
    return 'the tensorflow backend did not initialise';
  } catch (err) {
    return `@tensorflow/tfjs-node is not available (${(err as Error).message.split('\n')[0]})`;
  }
}

async function tryWasm(withBlas: boolean): Promise<{ ok: boolean; reason: string; details?: string }> {
  try {
    require('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-wasm did not load (${(err as Error).message})` };
  }
  let details: string | undefined;
  if (withBlas) {
    const native = enableNativeGemm();
    if (!native.enabled) return { ok: false, reason: native.reason };
    const loaded = loadNativeGemm();
    details = loaded.ok ? describeBlas(loaded.addon) : undefined;
  } else {
    disableNativeGemm();
  }
  if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'the wasm backend did not initialise' };
  await tf.ready();
  return { ok: true, reason: withBlas ? 'WASM with matrix multiplies on the native BLAS' : 'WASM', details };
}

/**
 * Picks the fastest tfjs backend that loads: tfjs-node, else WASM with the native GEMM, else
 * WASM, else the plain CPU backend. `force` (or SLIPWAY_TF_BACKEND) insists on one and fails
 * clearly when it cannot be had. Idempotent: later calls return the first choice at no cost.
 * The choice is process-wide, as tfjs' backend is.
 */
export async function selectBackend(options: { force?: string } = {}): Promise<BackendChoice> {
  const forced = options.force ?? envNow.tfBackend();
  if (forced !== undefined && !(backendNames as readonly string[]).includes(forced)) {
    throw new TrainingInputError(
      'BackendUnavailable',
      `Unknown backend "${forced}": use one of ${backendNames.join(', ')}.`,
    );
  }
  // Cheap on repeat calls, unless someone switched the tfjs backend behind our back.
  if (current && (!forced || current.name === forced) && tf.getBackend() === currentEngine) return current;
  const notes: string[] = [];
  const attempt = async (name: BackendName): Promise<BackendChoice | undefined> => {
    if (name === 'native') {
      const native = loadNativeTrainer();
      if (!native.ok) {
        notes.push(`native trainer unavailable (${native.reason})`);
        return undefined;
      }
      // The tfjs engine for model building, export and scoring (not training).
      if (!(await tryWasm(true)).ok && !(await tryWasm(false)).ok) {
        await tf.setBackend('cpu');
        await tf.ready();
      }
      return {
        name,
        reason: 'the fused native trainer over the BLAS',
        details: describeBlas(native.addon, describeTrainerThreads(native.addon)),
      };
    }
    if (name === 'tensorflow') {
      const problem = await tryTensorflow();
      if (!problem) return { name, reason: 'tfjs-node (native TensorFlow)' };
      notes.push(problem);
      return undefined;
    }
    if (name === 'wasm-blas' || name === 'wasm') {
      const result = await tryWasm(name === 'wasm-blas');
      if (result.ok) return { name, reason: result.reason, details: result.details };
      notes.push(result.reason);
      return undefined;
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return { name: 'cpu', reason: 'the plain JavaScript CPU backend' };
  };
  const order: BackendName[] = forced ? [forced as BackendName] : [...backendNames];
  for (const name of order) {
    const choice = await attempt(name);
    if (choice) {
      current = {
        ...choice,
        reason: notes.length ? `${choice.reason} (${notes.join('; ')})` : choice.reason,
      };
      currentEngine = tf.getBackend();
      return current;
    }
  }
  throw new TrainingInputError(
    'BackendUnavailable',
    `The backend "${forced}" cannot be used here: ${notes.join('; ')}.`,
  );
}
