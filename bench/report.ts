import type { Evaluation } from '../domain/ml/metrics';
import { referenceModelSpec } from '../domain/ml/modelSpec';
import type { ApplyReport } from './applyCsv';
import { type ApplyExplainReport, renderApplyExplain } from './applyExplain';
import type { ArtifactIoReport } from './artifactIo';
import type { CliStartupReport } from './cliStartup';
import type { ExtractReport } from './extractSpeed';
import type { KerasReport } from './keras/runKeras';
import { inferenceFlopsPerSample, trainingFlopsPerSample } from './lib/flops';
import type { Machine } from './lib/machine';
import type { BenchDataMeta } from './lib/referenceData';
import { median } from './lib/stats';
import type { OrchestrationReport } from './orchestration';
import type { QualitySpreadReport } from './qualitySpread';
import type { ServeBenchReport } from './serve';
import type { SlipwayTrainerReport } from './slipwayTrainer';

export type Section<T> =
  | { ok: true; value: T; seconds: number }
  | { ok: false; error: string; seconds: number };

export interface BenchReport {
  mode: 'quick' | 'full';
  startedAt: string;
  seconds: number;
  machine: Machine & { loadAverageAtEnd: number };
  data: BenchDataMeta;
  plan: Record<string, unknown>;
  backends: Array<{ name: string; result: Section<SlipwayTrainerReport> }>;
  keras: Section<KerasReport | { unavailable: string }>;
  quality: Section<{ slipway: Evaluation; keras?: Evaluation }>;
  /** Absent from reports written before it was measured. */
  qualitySpread?: Section<QualitySpreadReport>;
  onnxInference: Section<{ seconds: number[]; rowsPerSecond: number }>;
  apply: Array<Section<ApplyReport>>;
  /** `apply --explain 3` beside plain apply; absent from reports written before it was measured. */
  applyExplain?: Section<ApplyExplainReport>;
  extract: Section<ExtractReport>;
  orchestration: Section<OrchestrationReport>;
  cliStartup: Section<CliStartupReport>;
  artifactIo: Array<Section<ArtifactIoReport>>;
  /** `slipway serve` under autocannon; absent from reports written before it was measured. */
  serve?: Section<ServeBenchReport>;
}

/** PR-AUC may drop this much before the Slipway model counts as worse: the metric gate's default. */
const PR_AUC_TOLERANCE = 0.01;

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const fixed = (v: number, digits: number) => v.toFixed(digits);
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
const table = (head: string[], align: string[], rows: Array<Array<string | number>>) =>
  [row(head), row(align), ...rows.map(row)].join('\n');

/** Samples/s of the timed epochs: every epoch after the first, which traces graphs and warms caches. */
export function timedSpeeds(epochs: Array<{ seconds: number }>, rows: number): number[] {
  return epochs.slice(1).map((e) => rows / e.seconds);
}

/** PR-AUC per seed on both sides and the verdict on their medians. */
function renderQualitySpread(r: BenchReport): string[] {
  const spread = r.qualitySpread;
  if (!spread) return [];
  if (!spread.ok) return [`Quality over seeds: failed: ${spread.error}`];
  const v = spread.value;
  const rows = v.seeds.map((s) => [
    String(s.seed),
    fixed(s.slipwayPrAuc, 3),
    s.kerasPrAuc === undefined ? '' : fixed(s.kerasPrAuc, 3),
  ]);
  rows.push([
    '**median**',
    `**${fixed(v.slipwayMedian, 3)}**`,
    v.kerasMedian === undefined ? '' : `**${fixed(v.kerasMedian, 3)}**`,
  ]);
  const out = [
    table([`seed`, `Slipway (${v.backend}) PR-AUC`, 'Keras PR-AUC'], ['---:', '---:', '---:'], rows),
    '',
  ];
  if (v.kerasMedian !== undefined) {
    const d = v.slipwayMedian - v.kerasMedian;
    const spreadOf = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
    const widest = Math.max(
      spreadOf(v.seeds.map((s) => s.slipwayPrAuc)),
      spreadOf(v.seeds.map((s) => s.kerasPrAuc as number)),
    );
    out.push(
      `Each seed changes the initial weights, the row order and the dropout masks of both trainers. Median PR-AUC, ` +
        `Slipway - Keras: ${signed(d, 3)}: ${d >= -PR_AUC_TOLERANCE ? 'on par' : '**worse**'} (worse means lower by more ` +
        `than ${PR_AUC_TOLERANCE}, the metric gate's default). From seed to seed one trainer's PR-AUC moved by up to ` +
        `${fixed(widest, 3)} here${r.mode === 'quick' ? ` (only ${r.data.testPositives} frauds held out at quick size: the full run is the one to judge)` : ''}.`,
    );
  }
  return out;
}

/** The bench's markdown: what ran where, then one small table per question. */
export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const d = r.data;
  const flops = trainingFlopsPerSample(referenceModelSpec, d.nFeatures);
  const forwardFlops = inferenceFlopsPerSample(referenceModelSpec, d.nFeatures);
  const primary = r.backends.find((b) => b.result.ok && b.result.value.predictSeconds);
  const primaryValue = primary?.result.ok ? primary.result.value : undefined;
  const keras = r.keras.ok && !('unavailable' in r.keras.value) ? r.keras.value : undefined;
  const kerasSpeed = keras ? median(timedSpeeds(keras.epochs, d.trainRows)) : undefined;
  const out: string[] = [];

  out.push(`# Slipway benchmarks (${r.mode} mode, ${r.startedAt.slice(0, 10)})`, '');
  out.push(
    `Machine: ${m.cores} cores (${m.cpuModel}, ${m.ghz.toFixed(2)} GHz, ${m.vector}${m.fma ? '+fma' : ''}), ` +
      `${m.memoryGiB} GiB, Node ${m.node}. Shared with other work while this ran: load average ` +
      `${m.loadAverageAtStart.toFixed(2)} at the start, ${m.loadAverageAtEnd.toFixed(2)} at the end, so ` +
      'figures are noisy. Run took ' +
      `${(r.seconds / 60).toFixed(1)} min.`,
  );
  out.push(
    `Slipway backend: ${primaryValue ? `**${primaryValue.backend}** (${primaryValue.reason}${primaryValue.details ? `; ${primaryValue.details}` : ''})` : 'none trained'}. ` +
      `Keras: ${keras ? `**Keras ${keras.keras} on TensorFlow ${keras.tensorflow} CPU** (default threading, jit_compile ${keras.jitCompile})` : r.keras.ok && 'unavailable' in r.keras.value ? `skipped: ${r.keras.value.unavailable}` : `failed: ${r.keras.ok ? '' : r.keras.error}`}.`,
  );
  out.push(
    `Data: ${d.source}, stratified 75/25 split: ${int(d.trainRows)} training rows (${d.trainPositives} frauds), ` +
      `${int(d.testRows)} held out (${d.testPositives} frauds); both trainers read the same scaled float32 files. ` +
      `Reference network (Dense 256 relu x3, dropout 0.3 after the 2nd and 3rd, sigmoid; 139,777 parameters), ` +
      `Adam lr ${d.learningRate}, batch ${d.batchSize}, class weights 1/count, ${d.epochs} epochs.`,
    '',
  );

  out.push('## Training throughput', '');
  const trainRows: Array<Array<string | number>> = [];
  for (const b of r.backends) {
    if (!b.result.ok) {
      // The child's message ends with why: keep that part.
      const why = b.result.error.replace(/^.*cannot be used here: /, '').slice(0, 160);
      trainRows.push([`Slipway, ${b.name}`, 'did not load', '', '', '', '', '', why]);
      continue;
    }
    const v = b.result.value;
    const speed = median(timedSpeeds(v.epochs, v.rows));
    trainRows.push([
      `Slipway, ${b.name}`,
      `${int(v.rows)} x ${v.epochs.length - 1}`,
      int(speed),
      kerasSpeed ? `${fixed(speed / kerasSpeed, 2)}x` : 'n/a',
      fixed((speed * flops) / 1e9, 1),
      pct((speed * flops) / 1e9 / m.peakGflops),
      v.sgemmGflops ? `${pct((speed * flops) / 1e9 / v.sgemmGflops)} of ${fixed(v.sgemmGflops, 1)}` : '',
      v.predictSeconds ? 'full-size run, also scored below' : 'first rows of the training split',
    ]);
  }
  if (keras && kerasSpeed) {
    trainRows.push([
      'Keras, TensorFlow CPU',
      `${int(d.trainRows)} x ${keras.epochs.length - 1}`,
      int(kerasSpeed),
      '1.00x',
      fixed((kerasSpeed * flops) / 1e9, 1),
      pct((kerasSpeed * flops) / 1e9 / m.peakGflops),
      '',
      `intra-op threads ${keras.intraOpThreads || 'default (all cores)'}`,
    ]);
  }
  out.push(
    table(
      [
        'trainer',
        'rows x timed epochs',
        'samples/s (median)',
        'vs Keras',
        'GFLOP/s',
        'of peak',
        'of sgemm GFLOP/s',
        'note',
      ],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---'],
      trainRows,
    ),
    '',
  );
  out.push(
    `Median over the timed epochs; the first epoch of every run is a warm-up and not counted. ` +
      `GFLOP/s = samples/s x ${int(flops)} FLOP per sample (forward x·W, weight gradient and input gradient ` +
      `of each dense layer, 2·in·out each; the first layer has no input gradient; biases, activations and ` +
      `the optimizer left out). Peak = ${m.peakFormula} = ${fixed(m.peakGflops, 1)} GFLOP/s. ` +
      `sgemm GFLOP/s: the BLAS's own rate on a [2048 x 256] x [256 x 256] GEMM, measured in the same process just before it trained: for the native trainer the one-thread rate times its trainer threads (it runs one single-threaded multiply per thread), for wasm-blas the rate with its BLAS threads.`,
    '',
  );

  out.push(
    `## Model quality on the ${int(d.testRows)} held-out rows (threshold 0.5, same ${d.epochs} epochs)`,
    '',
  );
  if (r.quality.ok) {
    const q = r.quality.value;
    const line = (name: string, e: Evaluation, seconds?: number) => [
      name,
      fixed(e.recall, 3),
      pct(e.fpr),
      fixed(e.precision, 3),
      fixed(e.prAuc, 3),
      fixed(e.rocAuc, 4),
      seconds === undefined ? '' : int(seconds),
    ];
    const rows = [line(`Slipway (${primaryValue?.backend})`, q.slipway, primaryValue?.trainSeconds)];
    if (q.keras) rows.push(line('Keras', q.keras, keras?.trainSeconds));
    out.push(
      table(
        ['model', 'recall', 'FPR', 'precision', 'PR-AUC', 'ROC-AUC', 'training s'],
        ['---', '---:', '---:', '---:', '---:', '---:', '---:'],
        rows,
      ),
      '',
    );
    if (q.keras) {
      out.push(
        `Slipway - Keras on this seed: recall ${signed(q.slipway.recall - q.keras.recall, 3)}, FPR ${signed(100 * (q.slipway.fpr - q.keras.fpr), 2)} points, ` +
          `PR-AUC ${signed(q.slipway.prAuc - q.keras.prAuc, 3)}.`,
        '',
      );
    }
    out.push(...renderQualitySpread(r), '');
  } else out.push(`failed: ${r.quality.error}`, '');

  out.push(`## Inference`, '');
  const inference: Array<Array<string | number>> = [];
  const kerasPredict = keras ? d.testRows / median(keras.predictSeconds) : undefined;
  const vsKeras = (v: number) => (kerasPredict ? `${fixed(v / kerasPredict, 2)}x` : 'n/a');
  const gf = (v: number) => fixed((v * forwardFlops) / 1e9, 1);
  if (r.onnxInference.ok) {
    const v = r.onnxInference.value.rowsPerSecond;
    inference.push([
      'onnxruntime-node, held-out split in memory',
      int(d.testRows),
      int(v),
      vsKeras(v),
      gf(v),
    ]);
  } else inference.push(['onnxruntime-node', '', `failed: ${r.onnxInference.error}`, '', '']);
  if (primaryValue?.predictSeconds) {
    const v = d.testRows / median(primaryValue.predictSeconds);
    inference.push([`tfjs predict (${primaryValue.backend})`, int(d.testRows), int(v), vsKeras(v), gf(v)]);
  }
  if (kerasPredict)
    inference.push(['Keras predict', int(d.testRows), int(kerasPredict), '1.00x', gf(kerasPredict)]);
  for (const a of r.apply) {
    if (!a.ok) {
      inference.push(['slipway apply', '', `failed: ${a.error}`, '', '']);
      continue;
    }
    const v = a.value;
    inference.push([
      `\`slipway apply\` CSV in, CSV out (${fixed(v.inputMiB, 0)} MiB in)`,
      int(v.rows),
      int(v.rowsPerSecond),
      vsKeras(v.rowsPerSecond),
      '',
    ]);
  }
  out.push(
    table(
      ['what', 'rows', 'rows/s', 'vs Keras predict', 'GFLOP/s'],
      ['---', '---:', '---:', '---:', '---:'],
      inference,
    ),
    '',
  );
  out.push(
    `Medians of ${d.predictRepeats} runs after a warm-up, batches of ${d.predictBatch} rows. onnxruntime includes ` +
      `creating its session each run (as the pipeline's parity check and \`apply\` do); \`apply\` is one run per size ` +
      `and includes parsing and writing the CSV. GFLOP/s = rows/s x ${int(forwardFlops)} FLOP (forward matrix multiplies).`,
    '',
  );

  out.push(...renderCsvSpeed(r), '');
  if (r.applyExplain)
    out.push(
      ...(r.applyExplain.ok
        ? renderApplyExplain(r.applyExplain.value)
        : ['## `apply --explain`', '', `failed: ${r.applyExplain.error}`, '']),
    );
  if (r.serve) out.push(...renderServe(r.serve), '');

  out.push('## Orchestration overhead', '');
  if (r.orchestration.ok) {
    const o = r.orchestration.value;
    const first = o.runs[0];
    out.push(
      table(
        [
          'pipeline',
          'steps (activities)',
          'wall s',
          'in activities s',
          'overhead s',
          'overhead per activity ms',
        ],
        ['---', '---:', '---:', '---:', '---:', '---:'],
        [
          [
            `trainToDeploy, ${o.source}, ${o.epochs} epochs, median of ${o.runs.length}`,
            first ? `${first.steps} (${first.activities})` : '',
            fixed(o.medianWallSeconds, 2),
            fixed(median(o.runs.map((x) => x.activitySeconds)), 2),
            fixed(o.medianOverheadSeconds, 2),
            first ? int((1000 * o.medianOverheadSeconds) / first.activities) : '',
          ],
        ],
      ),
      '',
      `Real Temporal dev server (SQLite) and in-process workers, artifacts in a local folder, step cache off, after ` +
        `one warm-up run. Overhead = wall time the client waits minus the sum of each activity's Started-to-Completed time ` +
        'in the workflow history.',
      '',
    );
  } else out.push(`failed: ${r.orchestration.error}`, '');

  out.push('## CLI start-up', '');
  if (r.cliStartup.ok) {
    const c = r.cliStartup.value;
    out.push(
      table(
        ['command', `median s of ${c.runs}`, 'runs s', 'target s', 'met'],
        ['---', '---:', '---:', '---:', '---'],
        c.timings.map((t) => [
          `\`${t.command}\``,
          fixed(t.medianSeconds, 2),
          t.seconds.map((s) => fixed(s, 2)).join(', '),
          fixed(t.targetSeconds, 1),
          t.medianSeconds <= t.targetSeconds ? 'yes' : 'no',
        ]),
      ),
      '',
      'Wall time of `bin/slipway` from start to exit, a fresh process each run, through the dependency check, the ' +
        "build check and the compiled CLI; `status` asks the bench's Temporal server about the last orchestration " +
        'run (finished). Sensitive to machine load: read it with the load average above.',
      '',
    );
  } else out.push(`failed: ${r.cliStartup.error}`, '');

  out.push('## Artifact store I/O', '');
  out.push(
    table(
      ['store', 'object', 'write MB/s', 'read MB/s'],
      ['---', '---:', '---:', '---:'],
      r.artifactIo.map((a) =>
        a.ok
          ? [
              a.value.store,
              `${int(a.value.bytes / 1e6)} MB`,
              int(a.value.medianWriteMBps),
              int(a.value.medianReadMBps),
            ]
          : ['', '', `failed: ${a.error}`, ''],
      ),
    ),
    '',
    'Through the ArtifactStore the activities use: a put hashes (sha256) and writes, a read verifies the sha256. ' +
      'Fresh random bytes each run, median of the runs; MB = 10^6 bytes; MinIO on the same machine; local reads may come from the page cache.',
    '',
  );

  out.push('## Memory', '');
  const mem: Array<Array<string | number>> = [];
  if (primaryValue)
    mem.push([
      `Slipway training process (${primaryValue.backend}), ${int(primaryValue.rows)} rows`,
      int(primaryValue.maxRssMiB),
    ]);
  if (keras) mem.push([`Keras training process, ${int(d.trainRows)} rows`, int(keras.maxRssMiB)]);
  for (const a of r.apply)
    if (a.ok)
      mem.push([
        `\`slipway apply\`, ${int(a.value.rows)} rows (while scoring)`,
        int(a.value.peakRssWhileScoringMiB),
      ]);
  out.push(
    table(['process', 'peak RSS MiB'], ['---', '---:'], mem),
    '',
    "Training: the peak RSS of the process that runs domain/ml/train.ts (what the worker's train activity calls) at full size, " +
      'read when training ends; Keras: the same for its Python process.',
    '',
  );
  return `${out.join('\n')}\n`;
}

const signed = (v: number, digits: number) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;

/** How apply ran: chunk threads or the single reader, batch size and onnxruntime threads. */
export function describeSetup(report: ApplyReport): string {
  const model = `batches of ${report.batchRows}, ${report.intraOpThreads} onnxruntime intra-op thread(s)`;
  if (!report.chunkThreads || !report.chunkedRows) return `single reader, ${model}`;
  return `${report.chunkThreads} chunk threads, chunks of ${report.chunkBytes / 1024} KiB, ${model} each`;
}

/** `slipway serve` on loopback: single rows at rising rates, then batches of 1,000 rows. */
export function renderServe(section: Section<ServeBenchReport>): string[] {
  const out: string[] = ['## Scoring service: `slipway serve` on loopback', ''];
  if (!section.ok) return [...out, `failed: ${section.error}`];
  const v = section.value;
  const rows = [
    ...v.singleRow.map((s) => ['single row', s.rate ? int(s.rate) : 'max', s] as const),
    ...v.batches.map(
      (s) =>
        [
          `1,000 rows, ${s.format === 'json-objects' ? 'JSON objects' : s.format === 'json' ? 'JSON arrays' : 'CSV'}`,
          'max',
          s,
        ] as const,
    ),
    ...(v.shadowed
      ? ([
          ['single row, with shadow', int(v.shadowed.singleRow.rate), v.shadowed.singleRow],
          ['1,000 rows, JSON, with shadow', 'max', v.shadowed.batch],
        ] as const)
      : []),
  ].map(([what, asked, s]) => [
    what,
    asked,
    s.connections,
    int(s.requestsPerSecond),
    int(s.rowsPerSecond),
    fixed(s.latencyMs.p50, 1),
    fixed(s.latencyMs.p99, 1),
    s.errors + s.non2xx + s.timeouts,
    fixed(s.serverCores, 2),
    s.serverCpuUsPerRequest === undefined ? '' : int(s.serverCpuUsPerRequest),
    s.rowsPerServerCpuSecond === undefined ? '' : int(s.rowsPerServerCpuSecond),
    s.loadGeneratorCores === undefined ? '' : fixed(s.loadGeneratorCores, 2),
    fixed(s.loadAverage, 1),
  ]);
  out.push(
    table(
      [
        'requests',
        'rate asked',
        'connections',
        'req/s',
        'rows/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'server cores',
        'server CPU us/request',
        'rows per server CPU s',
        'load generator cores',
        'load',
      ],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
      rows,
    ),
    '',
    `${v.model}; autocannon 8 (one thread, in the bench process) and \`slipway serve\` (its own process: main ` +
      `thread and model thread) share the cores as the OS schedules them, nothing pinned (server cores: its CPU ` +
      `seconds per second, from /proc; load generator cores: the bench process's). With shadow: \`--shadow staging\`, the same version as candidate, so every request is scored twice. ${v.machine}; load average ${fixed(v.loadAverageAtStart, 1)} at the start, ` +
      `${fixed(v.loadAverageAtEnd, 1)} at the end. Targets (issue 24): 2,000 single-row requests/s with p99 under ` +
      '10 ms and no errors; 250,000 rows/s in batches of 1,000.' +
      (v.onnxruntimeAlone
        ? ` Peer, same run: onnxruntime alone on the same 1,000-row batches in one process (one session, 1 intra-op ` +
          `thread, no HTTP) ${int(v.onnxruntimeAlone.rowsPerSecond)} rows/s, ${int(v.onnxruntimeAlone.rowsPerCpuSecond ?? 0)} rows per CPU ` +
          `second, at load ${fixed(v.onnxruntimeAlone.loadAverage, 1)}.`
        : ''),
  );
  return out;
}

/** `apply` CSV to CSV beside its pandas + Keras peer, and extraction beside pandas read_csv. */
function renderCsvSpeed(r: BenchReport): string[] {
  const out: string[] = ['## CSV in, CSV out: `slipway apply` and extraction', ''];
  const rows: Array<Array<string | number>> = [];
  let peerNote = '';
  for (const a of r.apply) {
    if (!a.ok) {
      rows.push(['`slipway apply`', '', `failed: ${a.error}`, '', '', '', '']);
      continue;
    }
    const v = a.value;
    const peer = v.peer && !('error' in v.peer) ? v.peer : undefined;
    rows.push([
      `\`slipway apply\` (${describeSetup(v)})`,
      int(v.rows),
      fixed(v.seconds, 2),
      int(v.rowsPerSecond),
      fixed(v.cpuSeconds, 1),
      int(v.peakRssWhileScoringMiB),
      peer ? `${fixed(v.rowsPerSecond / peer.rowsPerSecond, 2)}x` : '',
    ]);
    if (v.peer && 'error' in v.peer)
      rows.push(['pandas + Keras', int(v.rows), `failed: ${v.peer.error}`, '', '', '', '']);
    if (peer) {
      rows.push([
        `pandas ${peer.pandas} read_csv + Keras ${peer.keras} predict + to_csv`,
        int(peer.rows),
        fixed(peer.seconds, 2),
        int(peer.rowsPerSecond),
        fixed(peer.cpuSeconds, 1),
        int(peer.maxRssMiB),
        '1.00x',
      ]);
      peerNote =
        ` The peer's ${fixed(peer.seconds, 1)} s: read_csv ${fixed(peer.readSeconds, 1)} s, predict ${fixed(peer.predictSeconds, 1)} s, ` +
        `to_csv ${fixed(peer.writeSeconds, 1)} s; it runs the weights of the same ONNX file (largest probability difference ` +
        `over the first 1,000 rows: ${peer.maxAbsDifference.toExponential(1)}).`;
    }
  }
  out.push(
    table(
      ['what', 'rows', 'seconds', 'rows/s', 'CPU s', 'peak RSS MiB', 'vs peer'],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:'],
      rows,
    ),
    '',
    'One run each, on the same generated file (31 columns). CPU s: all threads of the process; on a shared machine ' +
      "rows/s follows the CPU share the run got, so compare sides within a run. Peak RSS: the kernel's high-water mark " +
      `reset before scoring (apply), and the Python process's peak (peer).${peerNote}`,
    '',
  );
  if (!r.extract.ok) {
    out.push(`Extraction failed: ${r.extract.error}`);
    return out;
  }
  const e = r.extract.value;
  const ext: Array<Array<string | number>> = e.runs.map((run) => [
    run.parser === 'auto' ? 'extraction (byte scanner, the default)' : 'extraction, csv-parse for every line',
    int(e.rows),
    fixed(run.seconds, 2),
    int(run.rowsPerSecond),
    fixed(run.cpuSeconds, 1),
  ]);
  if (e.pandas && 'error' in e.pandas)
    ext.push(['pandas read_csv', int(e.rows), `failed: ${e.pandas.error}`, '', '']);
  else if (e.pandas)
    ext.push([
      `pandas ${e.pandas.pandas} read_csv`,
      int(e.pandas.rows),
      fixed(e.pandas.seconds, 2),
      int(e.pandas.rowsPerSecond),
      fixed(e.pandas.cpuSeconds, 1),
    ]);
  out.push(
    table(['what', 'rows', 'seconds', 'rows/s', 'CPU s'], ['---', '---:', '---:', '---:', '---:'], ext),
    '',
    `Extraction: read, validate every cell, write the Arrow snapshot (${fixed(e.inputMiB, 0)} MiB of CSV)` +
      (e.sameSnapshot === undefined
        ? '.'
        : `; the same snapshot bytes through both paths: ${e.sameSnapshot ? 'yes' : 'NO'}.`) +
      ' read_csv only parses into memory (no validation, no snapshot).',
  );
  return out;
}
