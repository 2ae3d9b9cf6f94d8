/**
 * Training throughput of the reference network on plain WASM vs WASM with the native GEMM.
 *
 *   npx tsx bench/gemm.ts [--rows 32768] [--runs 3] [--profile] [--modes wasm,wasm+native] [--threads n]
 *
 * Each run fits one epoch (batch 2048) on synthetic data; runs alternate between the two modes so
 * background load hits both alike, and the report gives medians. Results go to stdout and to
 * bench/results/gemm-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { referenceModelSpec } from '../domain/ml/modelSpec';
import {
  disableNativeGemm,
  enableNativeGemm,
  loadNativeGemm,
  resetNativeGemmStats,
  setNativeGemmThreads,
} from '../domain/ml/nativeGemm';
import { rawSgemmGflops } from './lib/sgemm';

const N_FEATURES = 30;

function buildReferenceModel(): tf.LayersModel {
  const model = tf.sequential();
  let first = true;
  for (const layer of referenceModelSpec.layers) {
    if (layer.type === 'dense') {
      model.add(
        tf.layers.dense({
          units: layer.units,
          activation: layer.activation,
          ...(first ? { inputShape: [N_FEATURES] } : {}),
        }),
      );
      first = false;
    } else {
      model.add(tf.layers.dropout({ rate: layer.rate }));
    }
  }
  model.compile({ optimizer: tf.train.adam(referenceModelSpec.learningRate), loss: 'binaryCrossentropy' });
  return model;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function epochSamplesPerSecond(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<number> {
  const start = performance.now();
  await model.fit(x, y, { batchSize: referenceModelSpec.batchSize, epochs: 1, shuffle: false, verbose: 0 });
  return x.shape[0] / ((performance.now() - start) / 1000);
}

/** Kernel time by kernel name per training batch (mean of a few batches), largest first. */
async function profileSteps(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  steps = 3,
): Promise<Array<[string, number]>> {
  const xb = x.slice(0, referenceModelSpec.batchSize);
  const yb = y.slice(0, referenceModelSpec.batchSize);
  const byName = new Map<string, number>();
  for (let step = 0; step < steps; step++) {
    const info = await tf.profile(async () => {
      await model.trainOnBatch(xb, yb);
    });
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      byName.set(k.name, (byName.get(k.name) ?? 0) + ms / steps);
    }
  }
  tf.dispose([xb, yb]);
  return [...byName.entries()].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: String(16 * referenceModelSpec.batchSize) },
      runs: { type: 'string', default: '3' },
      profile: { type: 'boolean', default: false },
      modes: { type: 'string', default: 'wasm,wasm+native' },
      threads: { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(runs) || runs < 1) {
    throw new Error('--rows and --runs must be positive integers');
  }

  await tf.setBackend('wasm');
  await tf.ready();
  const native = loadNativeGemm();
  const probe = enableNativeGemm();
  disableNativeGemm();
  console.log(`native GEMM: ${probe.reason}`);

  const x = tf.randomNormal([rows, N_FEATURES], 0, 1, 'float32', 7);
  const y = tf.cast(tf.less(tf.randomUniform([rows, 1], 0, 1, 'float32', 8), 0.02), 'float32');
  const model = buildReferenceModel();

  if (values.threads) setNativeGemmThreads(Number(values.threads));
  const wanted = values.modes.split(',').map((m) => m.trim());
  const modes = (['wasm', 'wasm+native'] as const).filter(
    (m) => wanted.includes(m) && (m === 'wasm' || probe.enabled),
  );
  if (modes.length === 0)
    throw new Error(`--modes ${values.modes}: nothing to run (native GEMM: ${probe.reason})`);
  const gflopsBefore = rawSgemmGflops();
  const samples: Record<string, number[]> = { wasm: [], 'wasm+native': [] };
  const profiles: Record<string, Array<[string, number]>> = {};
  for (const mode of modes) {
    if (mode === 'wasm+native') enableNativeGemm();
    else disableNativeGemm();
    // Warm-up: kernel setup and first allocations stay out of the timed runs.
    const [xw, yw] = [x.slice(0, referenceModelSpec.batchSize), y.slice(0, referenceModelSpec.batchSize)];
    await model.fit(xw, yw, { batchSize: referenceModelSpec.batchSize, epochs: 1, verbose: 0 });
    tf.dispose([xw, yw]);
    if (values.profile) profiles[mode] = await profileSteps(model, x, y);
  }
  for (let r = 0; r < runs; r++) {
    for (const mode of modes) {
      if (mode === 'wasm+native') enableNativeGemm();
      else disableNativeGemm();
      resetNativeGemmStats();
      const sps = await epochSamplesPerSecond(model, x, y);
      samples[mode].push(sps);
      console.log(
        `run ${r + 1}/${runs} ${mode.padEnd(11)} ${Math.round(sps).toLocaleString('en-US')} samples/s`,
      );
    }
  }
  disableNativeGemm();

  const wasmMedian = samples.wasm.length ? median(samples.wasm) : undefined;
  const nativeMedian = samples['wasm+native'].length ? median(samples['wasm+native']) : undefined;
  const gflops = rawSgemmGflops();
  const result = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, sharedCpu: true },
    blas: native.ok ? native.addon.info() : { unavailable: native.reason },
    network: 'reference (Dense 256 relu x3, dropout 0.3 x2, Dense 1 sigmoid), 30 features, batch 2048, Adam',
    rows,
    runs,
    samplesPerSecond: { wasm: samples.wasm, 'wasm+native': samples['wasm+native'] },
    median: { wasm: wasmMedian, 'wasm+native': nativeMedian },
    speedup: nativeMedian && wasmMedian ? nativeMedian / wasmMedian : undefined,
    rawSgemm2048x256x256Gflops: { beforeRuns: gflopsBefore, afterRuns: gflops },
    profileMsPerBatch: values.profile ? profiles : undefined,
  };

  console.log(
    `\nmachine: ${result.machine.cpus} cores (${result.machine.model}), CPU shared with other work`,
  );
  if (wasmMedian)
    console.log(`median wasm:        ${Math.round(wasmMedian).toLocaleString('en-US')} samples/s`);
  if (nativeMedian)
    console.log(`median wasm+native: ${Math.round(nativeMedian).toLocaleString('en-US')} samples/s`);
  if (nativeMedian && wasmMedian)
    console.log(`speedup:            ${(nativeMedian / wasmMedian).toFixed(1)}x`);
  if (gflops && gflopsBefore) {
    console.log(
      `raw sgemm 2048x256x256: ${gflopsBefore.toFixed(0)} GFLOP/s before the runs, ${gflops.toFixed(0)} after`,
    );
  }
  for (const [mode, kernels] of Object.entries(profiles)) {
    const total = kernels.reduce((s, [, ms]) => s + ms, 0);
    const top = kernels
      .slice(0, 6)
      .map(([name, ms]) => `${name} ${ms.toFixed(1)} ms (${((100 * ms) / total).toFixed(0)} %)`)
      .join(', ');
    console.log(`profile ${mode}: ${total.toFixed(0)} ms kernel time per batch; ${top}`);
  }
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `gemm-${result.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written ${file}`);
  tf.dispose([x, y]);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
