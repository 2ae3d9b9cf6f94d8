import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { datasetDrift } from '../domain/validation/datasetDrift';
import {
  type MonitoredBatch,
  monitoredBatch,
  monitoredBatchSchema,
  monitoringKey,
  monitoringPrefix,
} from '../domain/validation/monitoring';
import { readColumnsOf, trainingColumns, trainingSnapshotOf } from './drift';
import { resolveModelRef } from './models';
import type { Workspace } from './workspace';

/**
 * `apply --monitor`: after a batch is scored, its features' drift against the version's training
 * data and the distribution of its scores, read back from the scored file (which holds the input
 * columns and the probability column), stored as one document under the version.
 */
export async function recordMonitoredBatch(
  ws: Workspace,
  options: {
    model: string;
    version: number;
    /** The scored CSV `apply` wrote. */
    scoredPath: string;
    /** The input as the person named it. */
    input: string;
    scoreColumn: string;
    threshold: number;
    recordedAt: string;
  },
): Promise<{ batch: MonitoredBatch; key: string }> {
  const metadata = await ws.registry.getVersion(options.model, options.version);
  const snapshot = trainingSnapshotOf(metadata, options.model, options.version);
  const read = await readColumnsOf(ws, options.scoredPath, [...metadata.features, options.scoreColumn]);
  const features = read.columns.slice(0, metadata.features.length);
  const scores = read.columns[metadata.features.length] as Float64Array;
  const drift = datasetDrift(
    metadata.features,
    await trainingColumns(ws, snapshot, metadata.features),
    features,
  );
  const batch = monitoredBatch({
    model: options.model,
    version: options.version,
    recordedAt: options.recordedAt,
    recordedBy: ws.identity,
    input: options.input,
    drift,
    scores,
    scoreColumn: options.scoreColumn,
    threshold: options.threshold,
  });
  const sha = createHash('sha256')
    .update(await readFile(options.scoredPath))
    .digest('hex');
  const key = monitoringKey(batch, sha);
  await ws.store.putDocument(key, `${JSON.stringify(batch, null, 2)}\n`, {
    ifAbsent: true,
    mediaType: 'application/json',
  });
  return { batch, key };
}

/** Every monitored batch of a version, oldest first: what `slipway monitor` shows. */
export async function monitoredBatches(
  ws: Workspace,
  ref: string,
): Promise<{ model: string; version: number; via?: string; batches: MonitoredBatch[] }> {
  const { name, version, via } = await resolveModelRef(ws, ref);
  const keys = await ws.store.list(monitoringPrefix(name, version));
  const batches: MonitoredBatch[] = [];
  for (const { key } of keys) {
    const body = await ws.store.getDocument(key);
    if (body) batches.push(monitoredBatchSchema.parse(JSON.parse(body.toString('utf8'))));
  }
  return { model: name, version, via, batches };
}
