import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { loadConfig, type SlipwayConfig } from '../../config/env';
import { connectTemporalClient } from '../../infra/temporalConnection';
import { createWorkers, type InjectedDeps } from '../../worker/worker';
import { testServices } from './services';

/** A Slipway of its own on the shared test services: unique task queues, store and scratch folder. */
export interface PipelineWorld {
  dir: string;
  /** The SLIPWAY_* variables behind `config`, to hand to child processes. */
  env: Record<string, string>;
  config: SlipwayConfig;
  connection: Connection;
  client: Client;
  /** Stops the in-process workers, closes the connection, removes the scratch folder. */
  close(): Promise<void>;
}

export async function startPipelineWorld(
  name: string,
  options: {
    /** s3 (default): a fresh prefix on the test MinIO; file: a folder in the scratch dir. */
    artifacts?: 's3' | 'file';
    /** Extra SLIPWAY_* settings, e.g. payload keys. */
    env?: Record<string, string>;
    /** The queues the in-process workers poll (default both). */
    queues?: Array<'main' | 'training'>;
    /** Activity dependencies to replace (a faulty exporter, ...). */
    deps?: InjectedDeps;
  } = {},
): Promise<PipelineWorld> {
  const services = testServices();
  const dir = await mkdtemp(join(tmpdir(), `slipway-${name}-`));
  const queue = `${name}-${randomUUID()}`;
  const env: Record<string, string> = {
    SLIPWAY_TEMPORAL_ADDRESS: services.temporalAddress,
    SLIPWAY_TASK_QUEUE: queue,
    SLIPWAY_TRAINING_TASK_QUEUE: `${queue}-training`,
    SLIPWAY_STATE_DIR: dir,
    // A test's workers stop at once at close, as they did before the grace period existed (30 s by default).
    SLIPWAY_WORKER_SHUTDOWN_GRACE: '1',
    ...(options.artifacts === 'file'
      ? { SLIPWAY_ARTIFACTS: `file://${join(dir, 'artifacts')}` }
      : {
          SLIPWAY_ARTIFACTS: `s3://${services.bucket}/${name}/${randomUUID()}`,
          SLIPWAY_S3_ENDPOINT: services.s3.endpoint,
          SLIPWAY_S3_ACCESS_KEY: services.s3.accessKey,
          SLIPWAY_S3_SECRET_KEY: services.s3.secretKey,
        }),
    ...options.env,
  };
  const config = loadConfig(env);
  const workers = await createWorkers(config, { identity: name, queues: options.queues, deps: options.deps });
  const running = workers.run();
  const connection = await connectTemporalClient(config);
  return {
    dir,
    env,
    config,
    connection,
    client: new Client({ connection }),
    async close() {
      workers.shutdown();
      await running;
      await connection.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
