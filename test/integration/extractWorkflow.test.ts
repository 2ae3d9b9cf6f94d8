import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedDataset } from '../../activities';
import { loadConfig, type SlipwayConfig } from '../../config/env';
import { readSnapshot } from '../../domain/data/snapshot';
import { datasetSummarySchema } from '../../domain/data/summary';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createWorkers, type SlipwayWorkers } from '../../worker/worker';
import { testServices } from '../support/services';

/**
 * extractDataset run as a workflow by a real worker through the real Temporal dev server, once
 * with artifacts in the real MinIO and once in a local directory.
 */
const backends = ['s3', 'file'] as const;

describe.each(backends)('extractDatasetWorkflow with the %s artifact store', (backend) => {
  let dir: string;
  let config: SlipwayConfig;
  let workers: SlipwayWorkers;
  let running: Promise<void>;
  let client: Client;
  let connection: Connection;

  beforeAll(async () => {
    const services = testServices();
    dir = await mkdtemp(join(tmpdir(), 'slipway-extract-it-'));
    const queue = `extract-it-${backend}-${randomUUID()}`;
    config = loadConfig({
      SLIPWAY_TEMPORAL_ADDRESS: services.temporalAddress,
      SLIPWAY_TEMPORAL_NAMESPACE: services.namespace,
      SLIPWAY_TASK_QUEUE: queue,
      SLIPWAY_TRAINING_TASK_QUEUE: `${queue}-training`,
      SLIPWAY_STATE_DIR: dir,
      SLIPWAY_ARTIFACTS:
        backend === 's3'
          ? `s3://${services.bucket}/extract-it/${randomUUID()}`
          : `file://${join(dir, 'artifacts')}`,
      SLIPWAY_S3_ENDPOINT: services.s3.endpoint,
      SLIPWAY_S3_ACCESS_KEY: services.s3.accessKey,
      SLIPWAY_S3_SECRET_KEY: services.s3.secretKey,
      SLIPWAY_S3_REGION: services.s3.region,
    });
    workers = await createWorkers(config, { identity: `extract-it-${backend}` });
    running = workers.run();
    connection = await Connection.connect({ address: config.temporalAddress });
    client = new Client({ connection, namespace: config.namespace });
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    await connection?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots a synthetic source and the snapshot reads back with a verified checksum', async () => {
    const result = (await client.workflow.execute('extractDatasetWorkflow', {
      taskQueue: config.taskQueue,
      workflowId: `extract-${randomUUID()}`,
      args: [{ source: 'synthetic:fraud?rows=5000&seed=3', target: 'Class' }],
    })) as ExtractedDataset;

    expect(result.rows).toBe(5000);
    expect(result.features).toHaveLength(30);
    expect(result.snapshot.uri.startsWith(backend === 's3' ? 's3://' : 'file://')).toBe(true);
    const store = openArtifactStore(config);
    const matrix = readSnapshot(await store.getBytes(result.snapshot), 'Class');
    expect(matrix.nRows).toBe(5000);
    expect(matrix.y.reduce((a, b) => a + b, 0)).toBe(result.classCounts.positive);
    const summary = datasetSummarySchema.parse(
      JSON.parse((await store.getBytes(result.summary)).toString('utf8')),
    );
    expect(summary.snapshotSha256).toBe(result.snapshot.sha256);
  });

  it('fails a bad CSV at once, without retrying, naming the row and column', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, 'a,b,Class\n1,2,0\n3,oops,1\n');
    const workflowId = `extract-bad-${randomUUID()}`;
    const err = await client.workflow
      .execute('extractDatasetWorkflow', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [{ source: path, target: 'Class' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (err as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const cause = (activityFailure as ActivityFailure).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('NonNumericValue');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('bad.csv, row 3, column "b"');

    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const attempts = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt)
      .filter((a): a is number => typeof a === 'number');
    expect(attempts).toEqual([1]);
  });

  it('refuses invalid workflow input without running any activity', async () => {
    const err = await client.workflow
      .execute('extractDatasetWorkflow', {
        taskQueue: config.taskQueue,
        workflowId: `extract-invalid-${randomUUID()}`,
        args: [{ source: '', target: 'Class' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('InvalidWorkflowInput');
  });
});
