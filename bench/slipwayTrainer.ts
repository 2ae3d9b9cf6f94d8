/**
 * The Slipway side of `npm run bench`, run by bench/run.ts as a child process so every backend
 * starts clean (tfjs' backend is process-wide) and its peak RSS is the training's own. Trains the
 * reference network with domain/ml/train.ts (what the worker's train activity runs) on the data
 * folder bench/run.ts wrote; with --evaluate it also times tfjs predict on the held-out rows and
 * writes their probabilities and the ONNX export next to the data. Prints one JSON line on stdout.
 *
 *   npx tsx bench/slipwayTrainer.ts --data <dir> --backend wasm-blas [--rows N] [--epochs E] [--evaluate]
 *   npx tsx bench/slipwayTrainer.ts --data <dir> --backend native --seed 7 --score-to <file>
 *
 * --seed trains with another model seed (initial weights, row order, dropout); --score-to writes
 * the held-out probabilities to <file> without timing them (bench/qualitySpread.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TARGET_COLUMN } from '../domain/data/targetColumn';
import { selectBackend } from '../domain/ml/backend';
import { buildModel } from '../domain/ml/modelBuilder';
import { referenceModelSpec } from '../domain/ml/modelSpec';
import { loadNativeGemm } from '../domain/ml/nativeGemm';
import { chooseTrainerThreads, loadNativeTrainer } from '../domain/ml/nativeTrainer';
import { predictProbabilities, trainModel } from '../domain/ml/train';
import { exportToOnnx } from '../domain/onnx/exporter';
import { FEATURES, readFloat32, readMeta, readUint8 } from './lib/referenceData';
import { rawSgemmGflops } from './lib/sgemm';
import { secondsSince } from './lib/stats';

export interface SlipwayTrainerReport {
  backend: string;
  reason: string;
  details?: string;
  blasThreads?: number;
  /** The BLAS's sgemm GFLOP/s on the largest layer's GEMM, measured in this process before training. */
  sgemmGflops?: number;
  rows: number;
  epochs: Array<{ seconds: number; samplesPerSecond: number; loss: number }>;
  trainSeconds: number;
  predictSeconds?: number[];
  maxRssMiB: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      backend: { type: 'string' },
      rows: { type: 'string' },
      epochs: { type: 'string' },
      evaluate: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'score-to': { type: 'string' },
    },
  });
  if (!values.data || !values.backend)
    throw new Error(
      'bench/slipwayTrainer.ts needs --data <folder written by bench/run.ts> and --backend <name>',
    );
  const dir = values.data;
  const meta = readMeta(dir);
  const choice = await selectBackend({ force: values.backend });
  const n = meta.nFeatures;
  const rows = Math.min(meta.trainRows, Number(values.rows ?? meta.trainRows));
  const epochs = Number(values.epochs ?? meta.epochs);
  const x = readFloat32(dir, 'x_train.f32').subarray(0, rows * n);
  const y = readUint8(dir, 'y_train.u8').subarray(0, rows);
  const spec = { ...referenceModelSpec, epochs, seed: Number(values.seed ?? referenceModelSpec.seed) };
  const model = buildModel(spec, n);
  const usesBlas = choice.name === 'native' || choice.name === 'wasm-blas';
  // The native trainer keeps the BLAS on one thread and runs one multiply per trainer thread.
  const native = choice.name === 'native' ? loadNativeTrainer() : undefined;
  const trainerThreads = native?.ok ? chooseTrainerThreads(native.addon) : undefined;
  if (native?.ok) native.addon.setThreads(1);
  const sgemmGflops = usesBlas ? rawSgemmGflops(trainerThreads ?? 1) : undefined;
  const started = performance.now();
  const run = await trainModel({
    model,
    spec,
    x,
    y,
    nRows: rows,
    nFeatures: n,
    classWeights: meta.classWeights,
    // Progress on stderr (bench/run.ts passes it through): a full-size run takes minutes.
    onEpoch: (e) => {
      process.stderr.write(
        `epoch ${e.epoch}/${e.epochs}: ${Math.round(e.samplesPerSecond)} samples/s, loss ${e.loss.toExponential(3)}\n`,
      );
    },
  });
  const trainSeconds = secondsSince(started);
  const blas = loadNativeGemm();
  const report: SlipwayTrainerReport = {
    backend: choice.name,
    reason: choice.reason,
    details: choice.details,
    blasThreads: usesBlas && blas.ok ? blas.info.threads : undefined,
    sgemmGflops,
    rows,
    epochs: run.history.map((h) => ({
      seconds: h.seconds,
      samplesPerSecond: h.samplesPerSecond,
      loss: h.loss,
    })),
    trainSeconds,
    // Peak of the whole process, training included; read before scoring adds its own buffers.
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  const scoreTo = values['score-to'];
  if (scoreTo) {
    const p = await predictProbabilities(
      model,
      readFloat32(dir, 'x_test.f32'),
      meta.testRows,
      n,
      meta.predictBatch,
    );
    writeFileSync(scoreTo, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  }
  if (values.evaluate) {
    const xTest = readFloat32(dir, 'x_test.f32');
    let p = await predictProbabilities(model, xTest, meta.testRows, n, meta.predictBatch); // warm-up
    report.predictSeconds = [];
    for (let r = 0; r < meta.predictRepeats; r++) {
      const t0 = performance.now();
      p = await predictProbabilities(model, xTest, meta.testRows, n, meta.predictBatch);
      report.predictSeconds.push(secondsSince(t0));
    }
    writeFileSync(join(dir, 'slipway_test_proba.f32'), new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    const onnx = exportToOnnx({
      model,
      spec,
      scaler: meta.scaler,
      threshold: 0.5,
      metadata: {
        modelName: 'bench',
        features: [...FEATURES],
        target: DEFAULT_TARGET_COLUMN,
        producerVersion: '0.0.0',
        datasetSha256: '0'.repeat(64),
        runId: 'bench',
      },
    });
    writeFileSync(join(dir, 'slipway.onnx'), onnx);
  }
  model.dispose();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
