/**
 * Writes a synthetic fraud CSV (header, then `rows` generated rows) and prints {"bytes": N}.
 * Run as a child process by the benches, so generating a large file does not raise the RSS of
 * the process whose memory they measure.
 *
 *   tsx bench/lib/writeFraudCsv.ts <path> <rows> <seed>
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';

export async function writeFraudCsv(path: string, rows: number, seed: number): Promise<number> {
  const out = createWriteStream(path);
  out.write(`${SYNTHETIC_FRAUD_COLUMNS.join(',')}\n`);
  for (const row of syntheticFraudRows({ rows, seed })) {
    if (!out.write(`${row.join(',')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
  return (await stat(path)).size;
}

if (require.main === module) {
  const [path, rows, seed] = process.argv.slice(2);
  writeFraudCsv(path as string, Number(rows), Number(seed)).then(
    (bytes) => console.log(JSON.stringify({ bytes })),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
