/**
 * Training throughput of the reference network (30 features, batch 2048) on every tfjs backend
 * that loads here, as samples per second: the median of several epochs after a warm-up epoch.
 * `npm run bench:train [-- --quick]`. Results also go to bench/results/train-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { syntheticFraudRows } from '../domain/data/syntheticFraud';
import { type BackendName, backendNames, selectBackend } from '../domain/ml/backend';
import { computeClassWeights } from '../domain/ml/classWeights';
import { buildModel } from '../domain/ml/modelBuilder';
import { referenceModelSpec } from '../domain/ml/modelSpec';
import { loadNativeGemm } from '../domain/ml/nativeGemm';
import { trainModel } from '../domain/ml/train';
import { median } from './lib/stats';

const quick = process.argv.includes('--quick');
// Rows per epoch and timed epochs per backend, sized so slow backends still finish in minutes.
const plan: Record<BackendName, { rows: number; epochs: number }> = {
  native: { rows: 65_536, epochs: quick ? 2 : 5 },
  tensorflow: { rows: 65_536, epochs: quick ? 2 : 5 },
  'wasm-blas': { rows: 65_536, epochs: quick ? 2 : 5 },
  wasm: { rows: 16_384, epochs: quick ? 2 : 3 },
  cpu: { rows: 4_096, epochs: quick ? 2 : 3 },
};

async function main(): Promise<void> {
  const maxRows = Math.max(...Object.values(plan).map((p) => p.rows));
  const nCols = 30;
  const x = new Float32Array(maxRows * nCols);
  const y = new Uint8Array(maxRows);
  let i = 0;
  for (const row of syntheticFraudRows({ rows: maxRows, seed: 1 })) {
    for (let j = 0; j < nCols; j++)
      x[i * nCols + j] = (row[j] as number) / (j === 0 ? 172_792 : j === 29 ? 100 : 1);
    y[i++] = row[nCols] as number;
  }
  const results: Array<{
    backend: string;
    reason: string;
    samplesPerSecond?: number;
    epochs?: number[];
    rows?: number;
    error?: string;
  }> = [];
  for (const name of backendNames) {
    try {
      const choice = await selectBackend({ force: name });
      const { rows, epochs } = plan[name];
      const spec = { ...referenceModelSpec, epochs: epochs + 1 };
      const model = buildModel(spec, nCols);
      const run = await trainModel({
        model,
        spec,
        x: x.subarray(0, rows * nCols),
        y: y.subarray(0, rows),
        nRows: rows,
        nFeatures: nCols,
        classWeights: computeClassWeights(y.subarray(0, rows), 'inverse'),
      });
      model.dispose();
      const timed = run.history.slice(1).map((h) => h.samplesPerSecond); // the first epoch warms up
      results.push({
        backend: name,
        reason: choice.details ?? choice.reason,
        samplesPerSecond: median(timed),
        epochs: timed,
        rows,
      });
      console.error(
        `${name}: ${Math.round(median(timed))} samples/s (epochs: ${timed.map(Math.round).join(', ')})`,
      );
    } catch (err) {
      results.push({ backend: name, reason: 'did not load', error: (err as Error).message.split('\n')[0] });
      console.error(`${name}: not available (${(err as Error).message.split('\n')[0]})`);
    }
  }
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const wasm = results.find((r) => r.backend === 'wasm')?.samplesPerSecond;
  console.log(
    `\nReference network (139,777 parameters), batch 2048, on ${machine}; tfjs ${tf.version.tfjs}\n`,
  );
  const blas = loadNativeGemm();
  console.log(
    blas.ok
      ? `BLAS for wasm-blas: ${blas.info.config.trim()} (${blas.info.threads} threads)\n`
      : `BLAS for wasm-blas: not available (${blas.reason})\n`,
  );
  console.log('| backend | samples/s (median) | vs plain WASM | timed epochs x rows |');
  console.log('| --- | ---: | ---: | --- |');
  for (const r of results) {
    const speed = r.samplesPerSecond;
    console.log(
      `| ${r.backend} | ${speed ? Math.round(speed).toLocaleString('en-US') : `n/a (${r.error})`} | ${
        speed && wasm ? `${(speed / wasm).toFixed(1)}x` : ''
      } | ${r.epochs ? `${r.epochs.length} x ${r.rows}` : ''} |`,
    );
  }
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `train-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify(
      { machine, blas: blas.ok ? blas.info : { unavailable: blas.reason }, quick, results },
      null,
      2,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
