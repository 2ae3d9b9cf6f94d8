/**
 * `slipway serve` under a real HTTP load generator (autocannon 8, in this process, one thread) on
 * loopback: the reference network (bench/lib/serveFixture.ts) registered in a local-folder store
 * with its checkpoint and scaler, so the service checks it as it would a trained version, served
 * by the real CLI in a child process. Nothing is pinned: the service (its main thread and its model
 * thread) and the load generator share the machine's cores as the OS schedules them, so each step
 * records the CPU each side used (the service's from /proc, the generator's from this process),
 * and the service's CPU per request, which a busy machine disturbs less than rates and latencies.
 *
 * - single rows: one JSON row (an object by feature name) per request at fixed rising rates
 *   (autocannon's overallRate, 16 connections), latency p50/p99 and errors at each;
 * - batches: 1,000 rows per request (JSON arrays, JSON objects, CSV), 4 connections, as fast as
 *   the service answers: rows/s;
 * - the peer, in the same run: onnxruntime alone on the same 1,000-row batches in this process;
 * - the same service with --shadow (every request scored twice).
 *
 *   npx tsx bench/serve.ts [--quick] [--rates 500,1000,2000,4000] [--seconds 10]
 *
 * About 2 minutes in full (10 s steps), 1 minute with --quick (4 s steps). Results also go to
 * bench/results/serve-<date>.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ModelRegistry } from '../domain/registry/registry';
import { openBinaryScorer } from '../domain/scoring/binaryScorer';
import { LocalArtifactStore } from '../domain/storage/localStore';
import { startServeProcess } from '../test/support/serveProcess';
import { describeMachine } from './lib/machine';
import { registerReference, SERVE_FEATURES, SERVE_MODEL, scoringBodies } from './lib/serveFixture';

export interface LoadStep {
  /** Requests per second asked of autocannon (0: as fast as it answers). */
  rate: number;
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  rowsPerRequest: number;
  rowsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  non2xx: number;
  timeouts: number;
  /** CPU seconds of the serve process per second of the step (1.0 = one core busy). */
  serverCores: number;
  /** The serve process's CPU time per answered request, in microseconds. */
  serverCpuUsPerRequest: number;
  /** Rows answered per CPU second of the serve process. */
  rowsPerServerCpuSecond: number;
  /** CPU seconds of the load generator (this process) per second of the step. */
  loadGeneratorCores: number;
  loadAverage: number;
}

/** What a batch step sent. */
export type BatchFormat = 'json' | 'json-objects' | 'csv';

export interface ServeBenchReport {
  machine: string;
  model: string;
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  singleRow: LoadStep[];
  batches: Array<LoadStep & { format: BatchFormat }>;
  /**
   * The peer of the batch steps, in the same run: the same 1,000-row batches scored by onnxruntime
   * alone in this process (one session, 1 intra-op thread, as the service's model thread), the
   * model's own ceiling, without HTTP, reading or writing.
   */
  onnxruntimeAlone?: {
    rowsPerSecond: number;
    rowsPerCpuSecond: number;
    batches: number;
    loadAverage: number;
  };
  /** The same service with `--shadow staging` (the same version as candidate): what shadowing costs. */
  shadowed?: { singleRow: LoadStep; batch: LoadStep };
}

/** utime + stime of a process in seconds, from /proc (clock ticks of 1/100 s on Linux). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function step(
  url: string,
  servePid: number,
  options: {
    rate: number;
    connections: number;
    seconds: number;
    body: string;
    type: string;
    rowsPerRequest: number;
  },
): Promise<LoadStep> {
  const cpu0 = cpuSecondsOf(servePid);
  const generator0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await autocannon({
    url: `${url}/score`,
    method: 'POST',
    headers: { 'content-type': options.type },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate > 0 ? { overallRate: options.rate } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const serverCpu = cpuSecondsOf(servePid) - cpu0;
  const generator = process.cpuUsage(generator0);
  const ok = result.requests.total - result.non2xx;
  return {
    rate: options.rate,
    connections: options.connections,
    seconds: result.duration,
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    rowsPerRequest: options.rowsPerRequest,
    rowsPerSecond: (ok * options.rowsPerRequest) / result.duration,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    serverCores: serverCpu / seconds,
    serverCpuUsPerRequest: (serverCpu * 1e6) / Math.max(1, result.requests.total),
    rowsPerServerCpuSecond: (ok * options.rowsPerRequest) / serverCpu,
    loadGeneratorCores: (generator.user + generator.system) / 1e6 / seconds,
    loadAverage: loadavg()[0] ?? 0,
  };
}

export async function measureServe(options: { rates: number[]; seconds: number }): Promise<ServeBenchReport> {
  const machine = describeMachine();
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-serve-'));
  try {
    await registerReference(join(dir, 'artifacts'));
    const env = {
      SLIPWAY_ARTIFACTS: `file://${join(dir, 'artifacts')}`,
      SLIPWAY_STATE_DIR: dir,
      SLIPWAY_USER: 'bench',
    };
    const bodies = scoringBodies(1_000);
    const { rows, oneRow: one, jsonArrays: batchJson } = bodies;
    const single = { body: one, type: 'application/json', rowsPerRequest: 1 };
    const batch = {
      body: batchJson,
      type: 'application/json',
      rowsPerRequest: rows.length,
      rate: 0,
      connections: 4,
    };
    const singleRow: LoadStep[] = [];
    const batches: ServeBenchReport['batches'] = [];
    await withService(env, [], async (url, pid) => {
      // Warm-up: JIT and the session's first calls.
      await step(url, pid, { ...single, rate: 1000, connections: 8, seconds: 2 });
      for (const rate of options.rates) {
        singleRow.push(await step(url, pid, { ...single, rate, connections: 16, seconds: options.seconds }));
        process.stderr.write(
          `bench serve: single rows at ${rate}/s: ${describeStep(singleRow.at(-1) as LoadStep)}\n`,
        );
      }
      for (const [format, body, type] of [
        ['json', batchJson, 'application/json'],
        ['json-objects', bodies.jsonObjects, 'application/json'],
        ['csv', bodies.csv, 'text/csv'],
      ] as const) {
        const measured = await step(url, pid, { ...batch, body, type, seconds: options.seconds });
        batches.push({ ...measured, format });
        process.stderr.write(`bench serve: batches of 1,000 rows (${format}): ${describeStep(measured)}\n`);
      }
    });
    const onnxruntimeAlone = await scoreAlone(join(dir, 'artifacts'), rows, options.seconds);
    process.stderr.write(
      `bench serve: onnxruntime alone on the same batches: ${Math.round(onnxruntimeAlone.rowsPerSecond)} rows/s, ` +
        `${Math.round(onnxruntimeAlone.rowsPerCpuSecond)} rows per CPU second, load ${onnxruntimeAlone.loadAverage.toFixed(1)}\n`,
    );
    let shadowed: ServeBenchReport['shadowed'];
    await withService(
      env,
      ['--shadow', 'staging', '--shadow-log', join(dir, 'shadow.jsonl')],
      async (url, pid) => {
        await step(url, pid, { ...single, rate: 1000, connections: 8, seconds: 2 });
        const singleStep = await step(url, pid, {
          ...single,
          rate: 2000,
          connections: 16,
          seconds: options.seconds,
        });
        process.stderr.write(
          `bench serve: with shadow, single rows at 2000/s: ${describeStep(singleStep)}\n`,
        );
        const batchStep = await step(url, pid, { ...batch, seconds: options.seconds });
        process.stderr.write(
          `bench serve: with shadow, batches of 1,000 rows (json): ${describeStep(batchStep)}\n`,
        );
        shadowed = { singleRow: singleStep, batch: batchStep };
      },
    );
    return {
      machine: `${machine.cpuModel}, ${machine.cores} cores, ${machine.vector}`,
      model:
        'reference network (139,777 parameters), onnxruntime-node 1.30 CPU (MLAS): a session on the main thread for requests under 64 rows (those arriving together scored in one run), one on a model thread for larger ones, 1 intra-op thread each',
      loadAverageAtStart: machine.loadAverageAtStart,
      loadAverageAtEnd: loadavg()[0] ?? 0,
      singleRow,
      batches,
      onnxruntimeAlone,
      shadowed,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The registered version's ONNX scored on `rows` (one batch) again and again for `seconds`, in this process. */
async function scoreAlone(
  artifacts: string,
  rows: number[][],
  seconds: number,
): Promise<NonNullable<ServeBenchReport['onnxruntimeAlone']>> {
  const store = LocalArtifactStore.fromUri(`file://${artifacts}`);
  const version = await new ModelRegistry(store).getVersion(SERVE_MODEL, 1);
  const scorer = await openBinaryScorer(
    await store.getBytes(version.artifacts.onnx),
    SERVE_FEATURES.length,
    undefined,
    {
      intraOpThreads: 1,
    },
  );
  try {
    const x = Float32Array.from(rows.flat());
    for (let i = 0; i < 20; i++) await scorer.score(x, rows.length);
    let batches = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await scorer.score(x, rows.length);
      batches++;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      rowsPerSecond: (batches * rows.length) / elapsed,
      rowsPerCpuSecond: (batches * rows.length) / ((cpu.user + cpu.system) / 1e6),
      batches,
      loadAverage: loadavg()[0] ?? 0,
    };
  } finally {
    await scorer.release();
  }
}

/** Runs `slipway serve bench-serve@production <extra>` around `work`, then stops it. */
async function withService(
  env: Record<string, string>,
  extra: string[],
  work: (url: string, pid: number) => Promise<void>,
): Promise<void> {
  const serve = await startServeProcess(env, [
    `${SERVE_MODEL}@production`,
    '--port',
    '0',
    '--poll',
    '5',
    ...extra,
  ]);
  try {
    await work(serve.url, serve.child.pid as number);
  } finally {
    await serve.stop();
  }
}

export function describeStep(s: LoadStep): string {
  return (
    `${Math.round(s.requestsPerSecond)} req/s, ${Math.round(s.rowsPerSecond)} rows/s, p50 ${s.latencyMs.p50} ms, ` +
    `p99 ${s.latencyMs.p99} ms, ${s.errors + s.non2xx + s.timeouts} errors, server ${s.serverCores.toFixed(2)} cores ` +
    `(${Math.round(s.serverCpuUsPerRequest)} us CPU a request, ${Math.round(s.rowsPerServerCpuSecond)} rows per CPU second), ` +
    `load generator ${s.loadGeneratorCores.toFixed(2)} cores, load ${s.loadAverage.toFixed(1)}`
  );
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rates: { type: 'string' },
      seconds: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const rates = (values.rates ?? (quick ? '500,2000' : '500,1000,2000,3000,4000')).split(',').map(Number);
  const seconds = Number(values.seconds ?? (quick ? 4 : 10));
  measureServe({ rates, seconds }).then(
    (report) => {
      const results = join(__dirname, 'results');
      mkdirSync(results, { recursive: true });
      const path = join(results, `serve-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.stderr.write(`bench serve: wrote ${path}\n`);
    },
    (error) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
