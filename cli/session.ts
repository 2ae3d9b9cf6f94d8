import type { Client } from '@temporalio/client';
import { loadConfig, type SlipwayConfig } from '../config/env';
import { log } from './output';

export interface Session {
  config: SlipwayConfig;
  client: Client;
  /** True when this process runs the only worker (no other was polling): runs stop with it. */
  runsWorker: boolean;
  /**
   * The embedded dev server's Web UI, where it runs now: a restart moves it off a port another
   * process took (stack.json records where). Undefined on a configured cluster.
   */
  temporalUi?: string;
  /** Stops what this command started for itself (an in-process worker); shared services stay up. */
  close(): Promise<void>;
}

/**
 * Everything a command needs to talk to Slipway: validated configuration, the Temporal server
 * (started in the background when the embedded default is down), and a worker polling the task
 * queues (this process runs one for the command's duration when none is polling).
 */
export async function openSession(options: { needWorker?: boolean } = {}): Promise<Session> {
  const config = loadConfig();
  // Loaded here rather than at the top, so that the commands that never open a session (and
  // `--help`) start without loading the Temporal SDK; the worker and its ML modules load only when
  // this command runs a worker itself.
  const { Client } = await import('@temporalio/client');
  const { connectTemporalClient } = await import('../infra/temporalConnection.js');
  const { ensureEmbeddedStack } = await import('../infra/stack.js');
  const { dataConverterFor } = await import('../worker/encryptionCodec.js');
  const wantWorker = options.needWorker !== false;
  let temporalUi: string | undefined;
  if (config.embeddedTemporal) {
    // On the embedded stack the worker lives in the background too, so a pipeline keeps going
    // (and can wait for an approval) after this command has exited.
    const stack = await ensureEmbeddedStack(config, { withWorker: wantWorker });
    temporalUi = stack.uiUrl;
    if (stack.started)
      log(
        `slipway: the embedded stack was down; started Temporal at ${stack.temporalAddress} (Web UI ${stack.uiUrl}). ` +
          'It keeps running in the background: `slipway dev status` shows it, `slipway dev down` stops it.',
      );
  }
  const connection = await connectTemporalClient(config);
  const client = new Client({
    connection,
    namespace: config.namespace,
    dataConverter: dataConverterFor(config.env.SLIPWAY_PAYLOAD_KEYS),
  });

  let stopWorker: (() => Promise<void>) | undefined;
  // Elsewhere workers are someone else's to run; with none polling, this command brings one.
  const needWorker = wantWorker && !config.embeddedTemporal && !(await hasPollers(client, config));
  if (needWorker) {
    log('slipway: running a worker in this process for this command');
    const { DefaultLogger, Runtime } = await import('@temporalio/worker');
    const { createWorkers } = await import('../worker/worker.js');
    // The command's own output matters here; the in-process worker only speaks up about problems.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const workers = await createWorkers(config, { identity: `slipway-cli-${process.pid}` });
    const running = workers.run();
    stopWorker = async () => {
      workers.shutdown();
      await running;
    };
  }
  return {
    config,
    client,
    runsWorker: needWorker,
    temporalUi,
    async close() {
      await stopWorker?.();
      await connection.close();
    },
  };
}

async function hasPollers(client: Client, config: SlipwayConfig): Promise<boolean> {
  // require, not import(): the protobuf root is a CommonJS export whose namespaces import() hides.
  const { temporal } = require('@temporalio/proto') as typeof import('@temporalio/proto');
  // A `slipway worker` process polls both queues, so the main queue's pollers are what to look for.
  const response = await client.workflowService.describeTaskQueue({
    namespace: config.namespace,
    taskQueue: { name: config.taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (response.pollers ?? []).length > 0;
}

/**
 * Runs `body` with `connect`, which opens a session the first time it is called, and closes that
 * session afterwards: a command whose checks refuse before `connect` never loads the Temporal SDK.
 */
export async function withLazySession<T>(body: (connect: () => Promise<Session>) => Promise<T>): Promise<T> {
  let session: Session | undefined;
  try {
    return await body(async () => {
      session ??= await openSession();
      return session;
    });
  } finally {
    await session?.close();
  }
}
