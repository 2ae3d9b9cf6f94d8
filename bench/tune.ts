/**
 * Wall time of a search (`slipway tune`) with at most 1 and at most 2 trials at once, over two
 * training worker processes (`slipway worker --queues training`, one training each, their own state
 * folders), the search itself in this process; private Temporal and MinIO. Each search draws its
 * own trials (another seed), so no trial is a training-cache hit, while extract and transform are
 * (shared by every trial, as in any search); the space varies learning rate and dropout rate only,
 * so every trial costs the same. Parallel 1 and 2 alternate, so load changes hit both alike.
 *
 *   npx tsx bench/tune.ts [--reps 3] [--rows 60000] [--trials 4] [--epochs 5] [--trainer-threads 1,auto]
 *
 * --trainer-threads: SLIPWAY_TRAINER_THREADS of the workers (1: one core per training, the case two
 * trials at once can use; auto: the trainer's own choice, usually both cores for one training).
 * Results also go to bench/results/tune-<date>.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parsePipelineFile, pipelineTuneInput } from '../application/pipelineFile';
import { startTune } from '../application/start';
import { loadConfig } from '../config/env';
import { stopProcessGroup } from '../infra/processes';
import { createWorkers } from '../worker/worker';
import { describeMachine } from './lib/machine';
import { startBenchServices } from './lib/services';
import { median } from './lib/stats';

const SLIPWAY = resolve(__dirname, '../bin/slipway');

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    rows: { type: 'string', default: '60000' },
    trials: { type: 'string', default: '4' },
    epochs: { type: 'string', default: '5' },
    'trainer-threads': { type: 'string', default: '1,auto' },
  },
});
const reps = Number(args.reps);
const rows = Number(args.rows);
const trials = Number(args.trials);
const epochs = Number(args.epochs);

function pipeline(seed: number): string {
  return `version: 1
model: bench-tune
source: "synthetic:fraud?rows=${rows}&seed=4"
spec:
  layers:
    - { type: dense, units: 256, activation: relu }
    - { type: dropout, rate: 0.2 }
    - { type: dense, units: 256, activation: relu }
    - { type: dense, units: 1, activation: sigmoid }
  batchSize: 1024
  epochs: ${epochs}
gate: { promote: false }
tune:
  method: random
  trials: ${trials}
  seed: ${seed}
  space:
    spec.learningRate: { range: [0.001, 0.02], scale: log }
    spec.layers[1].rate: { range: [0.1, 0.4] }
`;
}

interface Measured {
  trainerThreads: string;
  parallel: number;
  seed: number;
  wallSeconds: number;
  load: [number, number];
  backend: string;
  backendDetails?: string;
  trainingWorkers: string[];
  /** Each trial's training activity, Started to Completed. */
  trainingSeconds: number[];
  attempts: number[];
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const machine = describeMachine();
  const services = await startBenchServices();
  const env: Record<string, string> = {
    SLIPWAY_TEMPORAL_ADDRESS: services.temporal.address,
    SLIPWAY_TASK_QUEUE: `bench-tune-${process.pid}`,
    SLIPWAY_TRAINING_TASK_QUEUE: `bench-tune-training-${process.pid}`,
    SLIPWAY_STATE_DIR: services.dir,
    SLIPWAY_ARTIFACTS: `s3://${services.bucket}/bench-tune`,
    SLIPWAY_S3_ENDPOINT: services.minio.endpoint,
    SLIPWAY_S3_ACCESS_KEY: services.minio.accessKey,
    SLIPWAY_S3_SECRET_KEY: services.minio.secretKey,
  };
  const config = loadConfig({ ...process.env, ...env });
  const main = await createWorkers(config, { queues: ['main'], identity: 'bench-main' });
  const running = main.run();
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection });
  const results: Measured[] = [];
  let seed = 100;
  try {
    for (const threads of String(args['trainer-threads']).split(',')) {
      const workers = await startTrainingWorkers(services.dir, env, threads);
      try {
        await waitForPollers(client, config, workers.names);
        // Warm-up (not counted): the workers' first trainings load the trainer; the data is extracted.
        await search(client, config, threads, 2, seed++);
        for (let r = 0; r < reps; r++) {
          for (const parallel of r % 2 === 0 ? [1, 2] : [2, 1]) {
            const m = await search(client, config, threads, parallel, seed++);
            results.push(m);
            console.error(
              `trainer threads ${threads}, parallel ${parallel}: ${m.wallSeconds.toFixed(1)} s (load ${m.load.map((l) => l.toFixed(1)).join(' -> ')}); ` +
                `trainings ${m.trainingSeconds.join(', ')} s on ${m.trainingWorkers.join(', ')}, attempts ${m.attempts.join(',')}`,
            );
          }
        }
      } finally {
        await workers.stop();
      }
    }
  } finally {
    await connection.close();
    main.shutdown();
    await running;
    await services.stop();
  }
  const rowsOut = String(args['trainer-threads'])
    .split(',')
    .map((threads) => {
      const of = (p: number) => results.filter((m) => m.trainerThreads === threads && m.parallel === p);
      const p1 = median(of(1).map((m) => m.wallSeconds));
      const p2 = median(of(2).map((m) => m.wallSeconds));
      const loads = [...of(1), ...of(2)].flatMap((m) => m.load);
      return `| ${threads} | ${of(1)
        .map((m) => m.wallSeconds.toFixed(1))
        .join(' / ')} (median ${p1.toFixed(1)}) | ${of(2)
        .map((m) => m.wallSeconds.toFixed(1))
        .join(
          ' / ',
        )} (median ${p2.toFixed(1)}) | ${(p1 / p2).toFixed(2)}x | ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} |`;
    });
  const last = results[results.length - 1];
  const report = [
    `Search of ${trials} trials (random), ${rows} rows, ${epochs} epochs each, 2 training worker processes; ` +
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.vector}; backend ${last?.backend}` +
      (last?.backendDetails ? ` (${last.backendDetails})` : ''),
    '',
    '| trainer threads | --parallel 1, s | --parallel 2, s | speed-up | load average |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rowsOut,
  ].join('\n');
  console.log(report);
  mkdirSync(resolve(__dirname, 'results'), { recursive: true });
  writeFileSync(
    resolve(__dirname, `results/tune-${new Date().toISOString().slice(0, 10)}.json`),
    `${JSON.stringify({ machine, rows, trials, epochs, reps, results }, null, 2)}\n`,
  );
}

async function search(
  client: Client,
  config: ReturnType<typeof loadConfig>,
  trainerThreads: string,
  parallel: number,
  seed: number,
): Promise<Measured> {
  const loaded = parsePipelineFile(pipeline(seed), 'bench-tune.yaml');
  const input = pipelineTuneInput(loaded, {}, { parallel }, 'bench');
  const before = loadavg()[0] ?? 0;
  const started = performance.now();
  const handle = await startTune({ client, config }, input);
  const result = await handle.result();
  const wallSeconds = (performance.now() - started) / 1000;
  // Per trial: which worker trained it, and how long its training activity ran (Started to Completed).
  const ids = result.tune.trials.flatMap((t) => t.workflowIds);
  const trained = await Promise.all(
    ids.map(async (id) => {
      const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const startedEvent = events.find((e) => e.activityTaskStartedEventAttributes);
      const completed = events.find((e) => e.activityTaskCompletedEventAttributes);
      const at = (e: (typeof events)[number] | undefined) =>
        Number(e?.eventTime?.seconds ?? 0) + (e?.eventTime?.nanos ?? 0) / 1e9;
      return {
        identity: startedEvent?.activityTaskStartedEventAttributes?.identity ?? '?',
        attempt: startedEvent?.activityTaskStartedEventAttributes?.attempt ?? 0,
        seconds: at(completed) - at(startedEvent),
      };
    }),
  );
  return {
    trainerThreads,
    parallel,
    seed,
    wallSeconds,
    load: [before, loadavg()[0] ?? 0],
    backend: result.backend,
    backendDetails: result.trained.backend.details,
    trainingWorkers: trained.map((t) => t.identity),
    trainingSeconds: trained.map((t) => Number(t.seconds.toFixed(2))),
    attempts: trained.map((t) => t.attempt),
  };
}

/** Worker processes alive, stopped on Ctrl-C or SIGTERM too (they run in process groups of their own). */
const workerGroups = new Set<number>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of workerGroups) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {}
    }
    process.exit(130);
  });
}

async function startTrainingWorkers(dir: string, env: Record<string, string>, threads: string) {
  const children: ChildProcess[] = [];
  const names = ['bench-t1', 'bench-t2'];
  for (const name of names) {
    const state = await mkdtemp(join(dir, `${name}-`));
    const log = await open(join(state, 'worker.log'), 'a');
    const child = spawn(SLIPWAY, ['worker', '--queues', 'training', '--identity', name], {
      env: {
        ...process.env,
        ...env,
        SLIPWAY_STATE_DIR: state,
        ...(threads === 'auto' ? {} : { SLIPWAY_TRAINER_THREADS: threads }),
      },
      stdio: ['ignore', log.fd, log.fd],
      detached: true,
    });
    child.once('exit', () => void log.close());
    children.push(child);
    if (child.pid) workerGroups.add(child.pid);
    await writeFile(join(state, 'pid'), String(child.pid));
  }
  return {
    names,
    async stop() {
      for (const c of children) {
        if (!c.pid) continue;
        await stopProcessGroup(c.pid, 10_000);
        workerGroups.delete(c.pid);
      }
    },
  };
}

async function waitForPollers(client: Client, config: ReturnType<typeof loadConfig>, names: string[]) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const described = await client.workflowService.describeTaskQueue({
      namespace: config.namespace,
      taskQueue: { name: config.trainingTaskQueue },
      taskQueueType: 2,
    });
    const seen = new Set((described.pollers ?? []).map((p) => p.identity));
    if (names.every((n) => seen.has(n))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('training workers did not start polling within 120 s');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
