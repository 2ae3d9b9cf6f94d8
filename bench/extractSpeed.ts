import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CsvParserChoice } from '../domain/data/csvRows';
import { extractDataset } from '../domain/data/extract';
import { LocalArtifactStore } from '../domain/storage/localStore';
import { type PandasReadReport, runPandasRead } from './keras/runPandas';
import { writeFraudCsv } from './lib/writeFraudCsv';

export interface ExtractRun {
  parser: CsvParserChoice;
  seconds: number;
  rowsPerSecond: number;
  cpuSeconds: number;
  snapshotSha256: string;
}

export interface ExtractReport {
  rows: number;
  inputMiB: number;
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  runs: ExtractRun[];
  /** Both paths gave the same snapshot bytes (when the general path ran). */
  sameSnapshot?: boolean;
  pandas?: (PandasReadReport & { rowsPerSecond: number }) | { error: string };
}

export async function measureExtract(options: {
  rows: number;
  general?: boolean;
  pandas?: boolean;
}): Promise<ExtractReport> {
  const { rows } = options;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-extract-'));
  try {
    const csvPath = join(dir, 'input.csv');
    const inputBytes = await writeFraudCsv(csvPath, rows, 1);
    const loadAverageAtStart = loadavg()[0] ?? 0;
    const store = new LocalArtifactStore(join(dir, 'artifacts'));
    const runs: ExtractRun[] = [];
    for (const parser of options.general ? (['auto', 'general'] as const) : (['auto'] as const)) {
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const result = await extractDataset({ source: csvPath, store, workDir: join(dir, 'work'), parser });
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      runs.push({
        parser,
        seconds,
        rowsPerSecond: result.summaryDoc.rows / seconds,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        snapshotSha256: result.snapshot.sha256,
      });
    }
    let pandas: ExtractReport['pandas'];
    if (options.pandas) {
      try {
        const report = await runPandasRead(csvPath);
        pandas = { ...report, rowsPerSecond: report.rows / report.seconds };
      } catch (err) {
        pandas = { error: (err as Error).message };
      }
    }
    return {
      rows,
      inputMiB: inputBytes / 2 ** 20,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg()[0] ?? 0,
      runs,
      sameSnapshot:
        runs.length > 1 ? runs.every((r) => r.snapshotSha256 === runs[0]?.snapshotSha256) : undefined,
      pandas,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '284807' },
      general: { type: 'boolean', default: false },
      pandas: { type: 'boolean', default: false },
    },
  });
  const r = await measureExtract({
    rows: Number(values.rows),
    general: values.general,
    pandas: values.pandas,
  });
  console.log(
    `CSV: ${r.rows.toLocaleString('en-US')} rows, ${r.inputMiB.toFixed(1)} MiB; load average ` +
      `${r.loadAverageAtStart.toFixed(2)} -> ${r.loadAverageAtEnd.toFixed(2)} (shared CPU)`,
  );
  for (const run of r.runs)
    console.log(
      `extract (${run.parser}): ${run.seconds.toFixed(2)} s, ${Math.round(run.rowsPerSecond).toLocaleString('en-US')} rows/s, ` +
        `${run.cpuSeconds.toFixed(1)} CPU s, snapshot ${run.snapshotSha256.slice(0, 12)}`,
    );
  if (r.sameSnapshot !== undefined) console.log(`same snapshot through both paths: ${r.sameSnapshot}`);
  if (r.pandas && 'error' in r.pandas) console.log(`pandas read_csv: failed: ${r.pandas.error}`);
  else if (r.pandas)
    console.log(
      `pandas ${r.pandas.pandas} read_csv: ${r.pandas.seconds.toFixed(2)} s, ${Math.round(r.pandas.rowsPerSecond).toLocaleString('en-US')} rows/s, ` +
        `${r.pandas.cpuSeconds.toFixed(1)} CPU s`,
    );
}

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
