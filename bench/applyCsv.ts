/**
 * End-to-end throughput of `slipway apply` (scoreCsv): a synthetic fraud CSV on disk is parsed,
 * scored by the reference network (139,777 parameters, seeded random weights: no training, the
 * speed does not depend on the weights) through onnxruntime, and written to another CSV.
 * Reports rows/s, MiB/s and peak RSS.
 *
 *   npx tsx bench/applyCsv.ts [--rows 71202] [--batch 4096]
 *
 * The default is the reference held-out split (25 % of 284,807 rows). Results also go to
 * bench/results/apply-<date>.json.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../domain/data/syntheticFraud';
import { buildModel } from '../domain/ml/modelBuilder';
import { countParameters, referenceModelSpec } from '../domain/ml/modelSpec';
import { fitStandardScaler } from '../domain/ml/scaler';
import { exportToOnnx } from '../domain/onnx/exporter';
import { scoreWithOnnx } from '../domain/onnx/parity';
import { DEFAULT_SCORING_BATCH_ROWS, scoreCsv } from '../domain/scoring/scoreCsv';

const FEATURES = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
const mib = (bytes: number) => bytes / 2 ** 20;

/** The reference network with its seeded initial weights, scaler fitted on the first rows. */
function referenceOnnx(): Uint8Array {
  const sampleRows = 4_096;
  const n = FEATURES.length;
  const x = new Float32Array(sampleRows * n);
  let i = 0;
  for (const row of syntheticFraudRows({ rows: sampleRows, seed: 2 })) x.set(row.slice(0, n), n * i++);
  const model = buildModel(referenceModelSpec, n);
  try {
    return exportToOnnx({
      model,
      spec: referenceModelSpec,
      scaler: fitStandardScaler(x, sampleRows, n, [...FEATURES]),
      threshold: 0.5,
      metadata: {
        modelName: 'bench-apply',
        features: [...FEATURES],
        target: 'Class',
        producerVersion: '0.0.0',
        datasetSha256: '0'.repeat(64),
        runId: 'bench',
      },
    });
  } finally {
    model.dispose();
  }
}

async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${SYNTHETIC_FRAUD_COLUMNS.join(',')}\n`);
  for (const row of syntheticFraudRows({ rows, seed: 1 })) {
    if (!out.write(`${row.join(',')}\n`))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
}

export interface ApplyReport {
  machine: string;
  loadAverageAtEnd: number;
  model: string;
  rows: number;
  batchRows: number;
  inputMiB: number;
  outputMiB: number;
  seconds: number;
  rowsPerSecond: number;
  inputMiBPerSecond: number;
  positives: number;
  modelOnlySeconds: number;
  modelOnlyRowsPerSecond: number;
  rssBeforeMiB: number;
  peakRssWhileScoringMiB: number;
  peakRssOfProcessMiB: number;
}

/**
 * Writes a `rows`-row CSV, scores it into another CSV as `slipway apply` does, then scores the
 * same rows in memory with the model alone. `onnx` defaults to the untrained reference network.
 */
export async function measureApply(options: {
  rows: number;
  batchRows?: number;
  onnx?: Uint8Array;
}): Promise<ApplyReport> {
  const { rows, batchRows = DEFAULT_SCORING_BATCH_ROWS } = options;
  if (!Number.isInteger(rows) || rows < 4) throw new Error(`--rows ${rows}: give a whole number >= 4`);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-apply-'));
  try {
    const input = join(dir, 'input.csv');
    const output = join(dir, 'scored.csv');
    const onnx = options.onnx ?? referenceOnnx();
    await writeCsv(input, rows);
    const inputBytes = (await stat(input)).size;

    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const result = await scoreCsv({
      input,
      output,
      onnx,
      features: [...FEATURES],
      target: 'Class',
      threshold: 0.5,
      batchRows,
      onProgress: () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      },
    });
    const outputBytes = (await stat(output)).size;

    // The model alone on the same rows, already in memory: what CSV handling adds is the rest.
    const x = new Float32Array(rows * FEATURES.length);
    let i = 0;
    for (const row of syntheticFraudRows({ rows, seed: 1 }))
      x.set(row.slice(0, FEATURES.length), FEATURES.length * i++);
    const modelStarted = performance.now();
    await scoreWithOnnx(onnx, x, rows, FEATURES.length, batchRows);
    const modelSeconds = (performance.now() - modelStarted) / 1000;
    return {
      machine: `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB`,
      loadAverageAtEnd: loadavg()[0] ?? 0,
      model: `reference spec, ${countParameters(referenceModelSpec, FEATURES.length)} parameters, ONNX ${onnx.length} bytes`,
      rows: result.rowsScored,
      batchRows,
      inputMiB: mib(inputBytes),
      outputMiB: mib(outputBytes),
      seconds: result.seconds,
      rowsPerSecond: result.rowsScored / result.seconds,
      inputMiBPerSecond: mib(inputBytes) / result.seconds,
      positives: result.positives,
      modelOnlySeconds: modelSeconds,
      modelOnlyRowsPerSecond: rows / modelSeconds,
      rssBeforeMiB: mib(rssBefore),
      peakRssWhileScoringMiB: mib(peakRss),
      peakRssOfProcessMiB: mib(process.resourceUsage().maxRSS * 1024),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '71202' },
      batch: { type: 'string', default: String(DEFAULT_SCORING_BATCH_ROWS) },
    },
  });
  const report = await measureApply({ rows: Number(values.rows), batchRows: Number(values.batch) });
  const { rows, batchRows } = report;
  console.log(`machine: ${report.machine}; load average ${report.loadAverageAtEnd.toFixed(2)} (shared CPU)`);
  console.log(`model: ${report.model}`);
  console.log(
    `input: ${rows.toLocaleString('en-US')} rows, ${report.inputMiB.toFixed(1)} MiB -> output ` +
      `${report.outputMiB.toFixed(1)} MiB (batches of ${batchRows})`,
  );
  console.log(
    `apply: ${report.seconds.toFixed(2)} s, ${Math.round(report.rowsPerSecond).toLocaleString('en-US')} rows/s, ` +
      `${report.inputMiBPerSecond.toFixed(1)} MiB/s of input; ${report.positives} predicted positive (random weights: the count means nothing)`,
  );
  console.log(
    `model alone (onnxruntime on in-memory rows): ${report.modelOnlySeconds.toFixed(2)} s, ` +
      `${Math.round(report.modelOnlyRowsPerSecond).toLocaleString('en-US')} rows/s`,
  );
  console.log(
    `RSS: ${report.rssBeforeMiB.toFixed(0)} MiB before scoring, peak ${report.peakRssWhileScoringMiB.toFixed(0)} MiB ` +
      `while scoring; peak of the process ${report.peakRssOfProcessMiB.toFixed(0)} MiB`,
  );
  const results = join(__dirname, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(
    join(results, `apply-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    `${JSON.stringify(report, null, 2)}\n`,
  );
}

// Run as a script, not when bench/run.ts imports measureApply.
if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
