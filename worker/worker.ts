import { type NativeConnection, Worker } from '@temporalio/worker';
import { type ActivityDeps, createActivities, trainingActivityNames } from '../activities';
import type { SlipwayConfig } from '../config/env';
import { openArtifactStore } from '../domain/storage/openStore';
import { connectTemporalWorker } from '../infra/temporalConnection';
import { dataConverterFor } from './encryptionCodec';
import { workflowBundle } from './workflowBundle';

export interface SlipwayWorkers {
  /** Resolves when both workers have stopped (after shutdown() or a fatal error). */
  run(): Promise<void>;
  /** Asks both workers to finish in-flight tasks and stop. */
  shutdown(): void;
  connection: NativeConnection;
}

/** Activity dependencies to use instead of the defaults (tests inject faults through them). */
export type InjectedDeps = Partial<Omit<ActivityDeps, 'config' | 'store'>>;

/**
 * One process, two workers: the main queue runs workflows and light activities, the training
 * queue runs the heavy training step (and the search trials that wrap it, see workflows/tuneTrial.ts), so training capacity can be scaled (more processes,
 * bigger machines) apart from everything else.
 */
export async function createWorkers(
  config: SlipwayConfig,
  options: {
    identity?: string;
    queues?: Array<'main' | 'training'>;
    deps?: InjectedDeps;
  } = {},
): Promise<SlipwayWorkers> {
  const queues = options.queues ?? ['main', 'training'];
  const connection = await connectTemporalWorker(config);
  const store = openArtifactStore(config);
  const activities = createActivities({ config, store, ...options.deps });
  // Bundled only when a worker will run workflows (a process polling no queue, as a test's client, does not).
  const bundle = queues.length > 0 ? await workflowBundle() : undefined;
  const dataConverter = dataConverterFor(config.env.SLIPWAY_PAYLOAD_KEYS);
  // Left out when not given: an explicit `identity: undefined` replaces the SDK's pid@host default
  // and the native worker refuses it, so `slipway worker` without --identity could not start.
  const identity = options.identity === undefined ? {} : { identity: options.identity };

  const env = config.env;
  // Both queues: how long a stopping worker lets running activities finish (a cancelled training
  // resumes from its checkpoint elsewhere), and how many workflow tasks it runs at once.
  const sizing = {
    shutdownGraceTime: env.SLIPWAY_WORKER_SHUTDOWN_GRACE * 1000,
    ...(env.SLIPWAY_WORKER_MAX_WORKFLOW_TASKS === undefined
      ? {}
      : { maxConcurrentWorkflowTaskExecutions: env.SLIPWAY_WORKER_MAX_WORKFLOW_TASKS }),
  };
  const light = Object.fromEntries(
    Object.entries(activities).filter(([name]) => !trainingActivityNames.includes(name)),
  );
  const heavy = Object.fromEntries(
    Object.entries(activities).filter(([name]) => trainingActivityNames.includes(name)),
  );

  const workers: Worker[] = [];
  if (queues.includes('main')) {
    workers.push(
      await Worker.create({
        connection,
        namespace: config.namespace,
        taskQueue: config.taskQueue,
        workflowBundle: bundle,
        activities: light,
        dataConverter,
        ...identity,
        ...sizing,
        ...(env.SLIPWAY_WORKER_MAX_ACTIVITIES === undefined
          ? {}
          : { maxConcurrentActivityTaskExecutions: env.SLIPWAY_WORKER_MAX_ACTIVITIES }),
      }),
    );
  }
  if (queues.includes('training') && Object.keys(heavy).length > 0) {
    workers.push(
      await Worker.create({
        connection,
        namespace: config.namespace,
        taskQueue: config.trainingTaskQueue,
        // A search's trials are child workflows on this queue (tuneTrial), so they spread over
        // whichever training workers poll it. Their histories are a dozen events, so they are
        // replayed rather than cached: with no sticky queue, a killed worker's trial goes on at
        // once on another worker instead of waiting out the sticky timeout.
        workflowBundle: bundle,
        maxCachedWorkflows: 0,
        activities: heavy,
        dataConverter,
        ...identity,
        ...sizing,
        // Each training runs in its own thread (domain/ml/trainInThread.ts), so this is how many
        // train in parallel, each with its own data and tfjs: one by default, as one already keeps
        // the cores busy; SLIPWAY_TRAINING_CONCURRENCY raises it where memory and cores allow.
        maxConcurrentActivityTaskExecutions: config.trainingConcurrency,
      }),
    );
  }

  return {
    connection,
    async run() {
      try {
        await Promise.all(workers.map((w) => w.run()));
      } finally {
        await connection.close();
      }
    },
    shutdown() {
      for (const w of workers) {
        if (w.getState() === 'RUNNING') w.shutdown();
      }
    },
  };
}
