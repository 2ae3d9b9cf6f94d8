/**
 * What `apply --explain k` costs beside plain `apply` (issue 29): the same CSV scored by the same
 * model in fresh processes (bench/lib/applyChild.ts, as `slipway apply` runs), plain and with
 * --explain alternately, `runs` times each, so load that comes and goes hits both alike. Reports
 * the medians and their ratio (wall and CPU seconds).
 *
 *   npx tsx bench/applyExplain.ts [--rows 100000] [--k 3] [--runs 3]
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_CHUNK_BATCH_ROWS,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_CHUNK_THREADS,
  DEFAULT_SCORING_BATCH_ROWS,
} from '../domain/scoring/scoreCsv';
import { referenceOnnx, writeCsv } from './applyCsv';
import type { ApplyChildSettings } from './lib/applyChild';
import { runJsonChild, tsxCommand } from './lib/child';
import { describeMachine } from './lib/machine';
import { median } from './lib/stats';

export interface ApplyExplainReport {
  rows: number;
  k: number;
  runs: number;
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  plain: { seconds: number[]; cpuSeconds: number[] };
  explain: { seconds: number[]; cpuSeconds: number[] };
  /** Median explain / median plain. */
  ratio: { seconds: number; cpuSeconds: number };
}

export async function measureApplyExplain(options: {
  rows?: number;
  k?: number;
  runs?: number;
  onnx?: Uint8Array;
}): Promise<ApplyExplainReport> {
  const { rows = 100_000, k = 3, runs = 3 } = options;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-explain-'));
  try {
    const input = join(dir, 'input.csv');
    await writeCsv(input, rows);
    const onnxPath = join(dir, 'model.onnx');
    writeFileSync(onnxPath, options.onnx ?? referenceOnnx());
    const once = async (explainK?: number) => {
      const settings: ApplyChildSettings = {
        input,
        output: join(dir, 'scored.csv'),
        onnxPath,
        // Each path at its own defaults: explain reads on the single reader.
        batchRows: explainK === undefined ? DEFAULT_CHUNK_BATCH_ROWS : DEFAULT_SCORING_BATCH_ROWS,
        intraOpThreads: 1,
        chunkThreads: DEFAULT_CHUNK_THREADS,
        chunkBytes: DEFAULT_CHUNK_BYTES,
        ...(explainK === undefined ? {} : { explainK }),
      };
      const path = join(dir, 'settings.json');
      writeFileSync(path, JSON.stringify(settings));
      const [command, args] = tsxCommand(join(__dirname, 'lib', 'applyChild.ts'), [path]);
      return runJsonChild<{ seconds: number; cpuSeconds: number }>('apply', command, args, {
        timeoutSeconds: 900,
      });
    };
    const loadAverageAtStart = loadavg()[0] ?? 0;
    const plain = { seconds: [] as number[], cpuSeconds: [] as number[] };
    const explain = { seconds: [] as number[], cpuSeconds: [] as number[] };
    for (let r = 0; r < runs; r++) {
      const a = await once();
      plain.seconds.push(a.seconds);
      plain.cpuSeconds.push(a.cpuSeconds);
      const b = await once(k);
      explain.seconds.push(b.seconds);
      explain.cpuSeconds.push(b.cpuSeconds);
    }
    return {
      rows,
      k,
      runs,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg()[0] ?? 0,
      plain,
      explain,
      ratio: {
        seconds: median(explain.seconds) / median(plain.seconds),
        cpuSeconds: median(explain.cpuSeconds) / median(plain.cpuSeconds),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The markdown lines bench/report.ts prints for it. */
export function renderApplyExplain(r: ApplyExplainReport): string[] {
  const s = (v: number[]) => v.map((x) => x.toFixed(2)).join(' / ');
  return [
    `## \`apply --explain ${r.k}\` beside plain \`apply\``,
    '',
    `${r.rows.toLocaleString('en-US')} rows of the reference network, each in a fresh process, alternately, ${r.runs} runs each ` +
      `(load average ${r.loadAverageAtStart.toFixed(2)} -> ${r.loadAverageAtEnd.toFixed(2)}).`,
    '',
    '| | wall s (runs) | CPU s (runs) |',
    '| --- | ---: | ---: |',
    `| plain \`apply\` | ${s(r.plain.seconds)} | ${s(r.plain.cpuSeconds)} |`,
    `| \`apply --explain ${r.k}\` | ${s(r.explain.seconds)} | ${s(r.explain.cpuSeconds)} |`,
    `| ratio of medians | ${r.ratio.seconds.toFixed(2)}x | ${r.ratio.cpuSeconds.toFixed(2)}x |`,
    '',
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      k: { type: 'string', default: '3' },
      runs: { type: 'string', default: '3' },
    },
  });
  const m = describeMachine();
  const report = await measureApplyExplain({
    rows: Number(values.rows),
    k: Number(values.k),
    runs: Number(values.runs),
  });
  console.log(
    `machine: ${m.cores} cores (${m.cpuModel}, ${m.vector}), onnxruntime-node (MLAS), no BLAS in scoring`,
  );
  console.log(renderApplyExplain(report).join('\n'));
}

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
