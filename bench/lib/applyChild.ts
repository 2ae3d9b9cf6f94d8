/**
 * One `scoreCsv` in a process of its own, as `slipway apply` runs it, for bench/applyCsv.ts:
 * the bench's own process has built a tfjs model and set V8 flags at run time (to expose gc),
 * which cost scoring in the same process about a third more CPU than in a fresh one. Prints
 * {"seconds", "cpuSeconds", "rssBeforeBytes", "peakRssBytes", "rowsScored", "positives", "chunkedRows"}.
 *
 *   tsx bench/lib/applyChild.ts <settings.json>
 */
import { readFileSync } from 'node:fs';
import { SYNTHETIC_FRAUD_COLUMNS } from '../../domain/data/syntheticFraud';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { explainerForOnnx } from '../../domain/explain/rowExplainer';
import { scoreCsv } from '../../domain/scoring/scoreCsv';

export interface ApplyChildSettings {
  input: string;
  output: string;
  onnxPath: string;
  batchRows: number;
  intraOpThreads: number;
  chunkThreads: number;
  chunkBytes: number;
  /** apply --explain k: the explainer graph is built from the ONNX inside the timed part, as the CLI does. */
  explainK?: number;
}

/** The process's peak RSS so far (Linux VmHWM), or undefined. */
function peakRssBytes(): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const settings = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as ApplyChildSettings;
  const onnx = new Uint8Array(readFileSync(settings.onnxPath));
  const rssBeforeBytes = process.memoryUsage().rss;
  let sampledPeak = rssBeforeBytes;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const features = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
  const explain =
    settings.explainK === undefined
      ? undefined
      : { graph: explainerForOnnx(onnx, 'probability', features).graph, k: settings.explainK };
  const result = await scoreCsv({
    input: settings.input,
    output: settings.output,
    onnx,
    features,
    ...(explain ? { explain } : {}),
    target: DEFAULT_TARGET_COLUMN,
    threshold: 0.5,
    batchRows: settings.batchRows,
    intraOpThreads: settings.intraOpThreads,
    chunkThreads: settings.chunkThreads,
    chunkBytes: settings.chunkBytes,
    onProgress: () => {
      sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  console.log(
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBeforeBytes,
      peakRssBytes: peakRssBytes() ?? sampledPeak,
      rowsScored: result.rowsScored,
      positives: result.positives,
      chunkedRows: result.chunkedRows,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
