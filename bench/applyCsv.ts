/**
 * End-to-end throughput of `slipway apply` (scoreCsv): a synthetic fraud CSV on disk is parsed,
 * scored by the reference network (139,777 parameters, seeded random weights: no training, the
 * speed does not depend on the weights) through onnxruntime, and written to another CSV.
 * Reports rows/s, MiB/s and peak RSS.
 *
 *   npx tsx bench/applyCsv.ts [--rows 71202] [--chunk-threads 2[,0]] [--chunk 1048576[,262144]]
 *                             [--batch 1024[,8192]] [--threads 1[,2]] [--peer]
 *
 * Comma lists measure each combination (how the defaults were chosen): --chunk-threads is how
 * many threads read, score and write chunks (0: the single reader on the main thread, scoring on
 * one model thread), --chunk the bytes per chunk, --batch the rows per onnxruntime call,
 * --threads onnxruntime's intra-op threads per session. --peer also runs pandas read_csv +
 * Keras predict + to_csv on the same file.
 * The default is the reference held-out split (25 % of 284,807 rows). Results also go to
 * bench/results/apply-<date>.json.
 */
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../domain/data/syntheticFraud';
import { DEFAULT_TARGET_COLUMN } from '../domain/data/targetColumn';
import { buildModel } from '../domain/ml/modelBuilder';
import { countParameters, referenceModelSpec } from '../domain/ml/modelSpec';
import { fitStandardScaler } from '../domain/ml/scaler';
import { exportToOnnx } from '../domain/onnx/exporter';
import { scoreWithOnnx } from '../domain/onnx/parity';
import {
  DEFAULT_CHUNK_BATCH_ROWS,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_CHUNK_THREADS,
  DEFAULT_SCORING_BATCH_ROWS,
  DEFAULT_SCORING_THREADS,
} from '../domain/scoring/scoreCsv';
import { type PandasApplyReport, runPandasApply } from './keras/runPandas';
import { runJsonChild, tsxCommand } from './lib/child';
import { writePeerModel } from './lib/onnxWeights';
import { describeSetup } from './report';

const FEATURES = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
const mib = (bytes: number) => bytes / 2 ** 20;

/** The reference network with its seeded initial weights, scaler fitted on the first rows. */
export function referenceOnnx(): Uint8Array {
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
        target: DEFAULT_TARGET_COLUMN,
        producerVersion: '0.0.0',
        datasetSha256: '0'.repeat(64),
        runId: 'bench',
      },
    });
  } finally {
    model.dispose();
  }
}

/** The input CSV, written by a child process: generating it here would raise the RSS measured. */
export async function writeCsv(path: string, rows: number): Promise<void> {
  const [command, args] = tsxCommand(join(__dirname, 'lib', 'writeFraudCsv.ts'), [path, String(rows), '1']);
  await runJsonChild<{ bytes: number }>('write CSV', command, args, { timeoutSeconds: 1800 });
}

export interface ApplyReport {
  machine: string;
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  model: string;
  rows: number;
  batchRows: number;
  intraOpThreads: number;
  /** Threads reading, scoring and writing chunks (0: the single reader). */
  chunkThreads: number;
  chunkBytes: number;
  /** Rows the chunk threads scored (all, for a plain file of more than one chunk). */
  chunkedRows: number;
  inputMiB: number;
  outputMiB: number;
  seconds: number;
  rowsPerSecond: number;
  inputMiBPerSecond: number;
  /** CPU time of the scoring process (its main thread, scoring threads, I/O) while applying. */
  cpuSeconds: number;
  positives: number;
  modelOnlySeconds: number;
  modelOnlyRowsPerSecond: number;
  rssBeforeMiB: number;
  /** Peak RSS of the scoring process (a fresh one, as `slipway apply` runs: VmHWM). */
  peakRssWhileScoringMiB: number;
  peakRssMethod: 'VmHWM' | 'sampled';
  peakRssOfProcessMiB: number;
  /** pandas read_csv + Keras predict + to_csv on the same file, when asked for. */
  peer?: PeerReport | { error: string };
}

interface ApplyChildResult {
  seconds: number;
  cpuSeconds: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  rowsScored: number;
  positives: number;
  chunkedRows: number;
}

export interface PeerReport extends PandasApplyReport {
  rowsPerSecond: number;
  /** Largest |p_keras - p_apply| over the first 1,000 rows: both run the same weights. */
  maxAbsDifference: number;
}

/** The probability column of the first `n` data lines of an apply output. */
async function firstProbabilities(path: string, n: number): Promise<number[]> {
  const values: number[] = [];
  const lines = createInterface({ input: createReadStream(path) });
  for await (const line of lines) {
    if (values.length === n + 1) break;
    values.push(Number(line.slice(line.lastIndexOf(',') + 1)));
  }
  lines.close();
  return values.slice(1);
}

/**
 * Writes a `rows`-row CSV, scores it into another CSV as `slipway apply` does, then scores the
 * same rows in memory with the model alone; with `peer`, also runs pandas + Keras on the same
 * file. `onnx` defaults to the untrained reference network.
 */
export async function measureApply(options: {
  rows: number;
  batchRows?: number;
  intraOpThreads?: number;
  chunkThreads?: number;
  chunkBytes?: number;
  onnx?: Uint8Array;
  peer?: boolean;
}): Promise<ApplyReport> {
  const {
    rows,
    intraOpThreads = DEFAULT_SCORING_THREADS,
    chunkThreads = DEFAULT_CHUNK_THREADS,
    chunkBytes = DEFAULT_CHUNK_BYTES,
  } = options;
  const batchRows =
    options.batchRows ?? (chunkThreads > 0 ? DEFAULT_CHUNK_BATCH_ROWS : DEFAULT_SCORING_BATCH_ROWS);
  if (!Number.isInteger(rows) || rows < 4) throw new Error(`--rows ${rows}: give a whole number >= 4`);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-apply-'));
  try {
    const input = join(dir, 'input.csv');
    const output = join(dir, 'scored.csv');
    const onnx = options.onnx ?? referenceOnnx();
    await writeCsv(input, rows);
    const inputBytes = (await stat(input)).size;
    const loadAverageAtStart = loadavg()[0] ?? 0;

    // Scored in a fresh process, as `slipway apply` runs (bench/lib/applyChild.ts says why).
    const onnxPath = join(dir, 'model.onnx');
    writeFileSync(onnxPath, onnx);
    const settingsPath = join(dir, 'apply.json');
    writeFileSync(
      settingsPath,
      JSON.stringify({ input, output, onnxPath, batchRows, intraOpThreads, chunkThreads, chunkBytes }),
    );
    const [command, args] = tsxCommand(join(__dirname, 'lib', 'applyChild.ts'), [settingsPath]);
    const result = await runJsonChild<ApplyChildResult>('apply', command, args, { timeoutSeconds: 1800 });
    const outputBytes = (await stat(output)).size;

    let peer: ApplyReport['peer'];
    if (options.peer) {
      try {
        writePeerModel(onnx, dir, { features: [...FEATURES], target: DEFAULT_TARGET_COLUMN, threshold: 0.5 });
        const report = await runPandasApply(dir, input, join(dir, 'peer.csv'));
        const ours = await firstProbabilities(output, 1000);
        const theirs = new Float32Array(new Uint8Array(readFileSync(join(dir, 'peer_proba.f32'))).buffer);
        const maxAbsDifference = ours.reduce(
          (m, p, i) => Math.max(m, Math.abs(p - (theirs[i] as number))),
          0,
        );
        peer = { ...report, rowsPerSecond: report.rows / report.seconds, maxAbsDifference };
      } catch (err) {
        peer = { error: (err as Error).message };
      } finally {
        await rm(join(dir, 'peer.csv'), { force: true });
      }
    }

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
      loadAverageAtStart,
      loadAverageAtEnd: loadavg()[0] ?? 0,
      model: `reference spec, ${countParameters(referenceModelSpec, FEATURES.length)} parameters, ONNX ${onnx.length} bytes`,
      rows: result.rowsScored,
      batchRows,
      intraOpThreads,
      chunkThreads,
      chunkBytes,
      chunkedRows: result.chunkedRows,
      inputMiB: mib(inputBytes),
      outputMiB: mib(outputBytes),
      seconds: result.seconds,
      rowsPerSecond: result.rowsScored / result.seconds,
      inputMiBPerSecond: mib(inputBytes) / result.seconds,
      cpuSeconds: result.cpuSeconds,
      positives: result.positives,
      modelOnlySeconds: modelSeconds,
      modelOnlyRowsPerSecond: rows / modelSeconds,
      rssBeforeMiB: mib(result.rssBeforeBytes),
      peakRssWhileScoringMiB: mib(result.peakRssBytes),
      peakRssMethod: 'VmHWM',
      peakRssOfProcessMiB: mib(result.peakRssBytes),
      peer,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const list = (text: string) => text.split(',').map(Number);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '71202' },
      batch: { type: 'string' },
      threads: { type: 'string', default: String(DEFAULT_SCORING_THREADS) },
      'chunk-threads': { type: 'string', default: String(DEFAULT_CHUNK_THREADS) },
      chunk: { type: 'string', default: String(DEFAULT_CHUNK_BYTES) },
      peer: { type: 'boolean', default: false },
    },
  });
  // Comma lists measure every combination, e.g. --batch 1024,8192 --chunk-threads 2,0.
  for (const chunkThreads of list(values['chunk-threads']))
    for (const chunkBytes of list(values.chunk))
      for (const batchRows of values.batch === undefined ? [undefined] : list(values.batch))
        for (const intraOpThreads of list(values.threads)) {
          const report = await measureApply({
            rows: Number(values.rows),
            batchRows,
            intraOpThreads,
            chunkThreads,
            chunkBytes,
            peer: values.peer,
          });
          print(report);
        }
}

function print(report: ApplyReport): void {
  const { rows } = report;
  console.log(
    `machine: ${report.machine}; load average ${report.loadAverageAtStart.toFixed(2)} -> ${report.loadAverageAtEnd.toFixed(2)} (shared CPU)`,
  );
  console.log(`model: ${report.model}`);
  console.log(
    `input: ${rows.toLocaleString('en-US')} rows, ${report.inputMiB.toFixed(1)} MiB -> output ` +
      `${report.outputMiB.toFixed(1)} MiB (${describeSetup(report)})`,
  );
  console.log(
    `apply: ${report.seconds.toFixed(2)} s, ${Math.round(report.rowsPerSecond).toLocaleString('en-US')} rows/s, ` +
      `${report.inputMiBPerSecond.toFixed(1)} MiB/s of input, ${report.cpuSeconds.toFixed(1)} CPU s; ${report.positives} predicted positive`,
  );
  console.log(
    `model alone (onnxruntime on in-memory rows): ${report.modelOnlySeconds.toFixed(2)} s, ` +
      `${Math.round(report.modelOnlyRowsPerSecond).toLocaleString('en-US')} rows/s`,
  );
  console.log(
    `RSS: ${report.rssBeforeMiB.toFixed(0)} MiB before scoring, peak ${report.peakRssWhileScoringMiB.toFixed(0)} MiB ` +
      `while scoring (${report.peakRssMethod}); peak of the process ${report.peakRssOfProcessMiB.toFixed(0)} MiB`,
  );
  const peer = report.peer;
  if (peer && 'error' in peer) console.log(`pandas + Keras: failed: ${peer.error}`);
  else if (peer)
    console.log(
      `pandas + Keras: ${peer.seconds.toFixed(2)} s (read_csv ${peer.readSeconds.toFixed(2)}, predict ` +
        `${peer.predictSeconds.toFixed(2)}, to_csv ${peer.writeSeconds.toFixed(2)}), ${Math.round(peer.rowsPerSecond).toLocaleString('en-US')} rows/s, ` +
        `${peer.cpuSeconds.toFixed(1)} CPU s, peak RSS ${peer.maxRssMiB.toFixed(0)} MiB; apply is ` +
        `${(report.rowsPerSecond / peer.rowsPerSecond).toFixed(2)}x; max |p difference| ${peer.maxAbsDifference.toExponential(1)}`,
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
