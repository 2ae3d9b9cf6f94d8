import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { extractDataset } from '../domain/data/extract';
import { LocalArtifactStore } from '../domain/storage/localStore';
import { writeFraudCsv } from './lib/writeFraudCsv';

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 550_000);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-extract-'));
  try {
    const csvPath = join(dir, 'big.csv');
    const size = await writeFraudCsv(csvPath, rows, 1);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const result = await extractDataset({
      source: csvPath,
      store: new LocalArtifactStore(join(dir, 'artifacts')),
      workDir: join(dir, 'work'),
    });
    const seconds = (performance.now() - started) / 1000;
    const peakRss = process.resourceUsage().maxRSS * 1024;
    console.log(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
    console.log(
      `CSV: ${(size / 2 ** 20).toFixed(1)} MiB, ${result.summaryDoc.rows} rows x ${result.summaryDoc.features.length + 1} columns`,
    );
    console.log(`extract: ${seconds.toFixed(1)} s (${(size / 2 ** 20 / seconds).toFixed(1)} MiB/s)`);
    console.log(
      `RSS before extract: ${(rssBefore / 2 ** 20).toFixed(0)} MiB; peak RSS of the process: ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
