/**
 * Where the time of one 1,000-row `POST /score` goes, stage by stage, in one process (no HTTP):
 * reading the body (JSON arrays, JSON objects, CSV: parse and validation into the float tensor),
 * the onnxruntime run (one session, 1 intra-op thread, as the service opens it), and writing the
 * answer. Medians over `--iterations` rounds, after a warm-up.
 *
 *   npx tsx bench/serveStages.ts [--iterations 200]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_TARGET_COLUMN } from '../domain/data/targetColumn';
import { openBinaryScorer } from '../domain/scoring/binaryScorer';
import { addedColumns } from '../domain/scoring/columns';
import { DEFAULT_LIMITS } from '../domain/serving/limits';
import { readCsvRows, readJsonRows } from '../domain/serving/requestRows';
import { csvAnswer, jsonAnswer } from '../domain/serving/responseBody';
import { describeMachine } from './lib/machine';
import { exportReference, SERVE_FEATURES, scoringBodies } from './lib/serveFixture';
import { median } from './lib/stats';

async function main(iterations: number) {
  const n = SERVE_FEATURES.length;
  const { onnx } = await exportReference('stages');
  const scorer = await openBinaryScorer(onnx, n, undefined, { intraOpThreads: 1 });
  const columns = addedColumns(DEFAULT_TARGET_COLUMN);
  const made = scoringBodies(1_000);
  const bodies = {
    'json arrays': Buffer.from(made.jsonArrays),
    // The same rows behind a first key the byte reader does not take: the general reader (JSON.parse).
    'json arrays, general reader': Buffer.from(JSON.stringify({ v: 1, rows: made.rows })),
    'json objects': Buffer.from(made.jsonObjects),
    csv: Buffer.from(made.csv),
  };
  const answerer = { model: 'stages', version: 1, alias: 'production' };
  const out: Record<string, unknown> = {};
  for (const [format, body] of Object.entries(bodies)) {
    const times = { read: [] as number[], score: [] as number[], answer: [] as number[] };
    for (let i = 0; i < iterations + 20; i++) {
      const t0 = performance.now();
      const input =
        format === 'csv'
          ? readCsvRows(body, SERVE_FEATURES, columns, DEFAULT_LIMITS)
          : readJsonRows(body, SERVE_FEATURES, DEFAULT_LIMITS);
      const t1 = performance.now();
      const p = await scorer.score(input.x, input.nRows);
      const t2 = performance.now();
      if (input.csv) csvAnswer(input.csv, columns, p, 0.5);
      else jsonAnswer(answerer, columns, p, 0.5);
      const t3 = performance.now();
      if (i < 20) continue;
      times.read.push(t1 - t0);
      times.score.push(t2 - t1);
      times.answer.push(t3 - t2);
    }
    const m = { read: median(times.read), score: median(times.score), answer: median(times.answer) };
    const total = m.read + m.score + m.answer;
    out[format] = {
      bodyBytes: body.length,
      medianMs: m,
      rowsPerSecondOneThread: Math.round(1_000 / (total / 1000)),
    };
    process.stderr.write(
      `${format} (${(body.length / 1024).toFixed(0)} KiB): read ${m.read.toFixed(2)} ms, onnxruntime ${m.score.toFixed(2)} ms, ` +
        `answer ${m.answer.toFixed(2)} ms per 1,000 rows; load ${loadavg()[0]?.toFixed(1)}\n`,
    );
  }
  await scorer.release();
  const machine = describeMachine();
  return { machine: `${machine.cpuModel}, ${machine.cores} cores, ${machine.vector}`, stages: out };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { iterations: { type: 'string' } } });
  main(Number(values.iterations ?? 200)).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
