import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { renderDriftReport } from '../domain/report/driftReport';
import { datasetDrift } from '../domain/validation/datasetDrift';
import {
  type MonitoredBatch,
  monitoredBatch,
  monitoredBatchId,
  monitoredBatchKey,
  monitoredBatchSchema,
  monitoringKey,
  monitoringPrefix,
  oldestFirst,
} from '../domain/validation/monitoring';
import { categoricalDictionaries, readColumnsOf, trainingColumns, trainingSnapshotOf } from './drift';
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
    /** An anomaly version's scores are unbounded: their histogram spans the batch's own range. */
    scoreRange?: 'probability' | 'observed';
  },
): Promise<{ batch: MonitoredBatch; key: string }> {
  const metadata = await ws.registry.getVersion(options.model, options.version);
  const snapshot = trainingSnapshotOf(metadata, options.model, options.version);
  const categorical = await categoricalDictionaries(ws, metadata);
  const read = await readColumnsOf(
    ws,
    options.scoredPath,
    [...metadata.features, options.scoreColumn],
    [...categorical.keys()],
  );
  const features = read.columns.slice(0, metadata.features.length);
  const scores = read.columns[metadata.features.length] as Float64Array;
  const drift = datasetDrift(
    metadata.features,
    await trainingColumns(ws, snapshot, metadata.features, categorical),
    features,
  );
  // The report `slipway drift` writes, kept with the batch (content-addressed) for the console.
  const html = renderDriftReport({
    model: options.model,
    version: options.version,
    referenceLabel: `training snapshot ${snapshot.sha256.slice(0, 12)} of ${metadata.sourceUri}`,
    currentLabel: `${options.input} (scored ${options.recordedAt})`,
    drift,
  });
  const report = await ws.store.put(html, {
    kind: 'report',
    mediaType: 'text/html; charset=utf-8',
    extension: '.html',
  });
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
    scoreRange: options.scoreRange,
    report,
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

/** A monitored batch with the id links name it by (monitoring.ts). */
export type ListedBatch = MonitoredBatch & { id: string };

/** Every monitored batch of a version, oldest first: what `slipway monitor` shows. */
export async function monitoredBatches(
  ws: Workspace,
  ref: string,
): Promise<{ model: string; version: number; via?: string; batches: ListedBatch[] }> {
  const { name, version, via } = await resolveModelRef(ws, ref);
  const keys = await ws.store.list(monitoringPrefix(name, version));
  const batches: ListedBatch[] = [];
  for (const { key } of keys) {
    const body = await ws.store.getDocument(key);
    if (body) batches.push({ ...parseBatch(body), id: monitoredBatchId(key) });
  }
  return { model: name, version, via, batches: oldestFirst(batches) };
}

/** One monitored batch of a version by its id, or undefined when the version has none by that id. */
export async function monitoredBatchById(
  ws: Workspace,
  name: string,
  version: number,
  id: string,
): Promise<ListedBatch | undefined> {
  const { name: model } = await resolveModelRef(ws, `${name}@${version}`);
  const key = monitoredBatchKey(model, version, id);
  const body = key === undefined ? undefined : await ws.store.getDocument(key);
  return body ? { ...parseBatch(body), id } : undefined;
}

/** The stored drift report of a batch (checksum-verified by the store); undefined for batches recorded before reports. */
export async function monitoredBatchReport(
  ws: Workspace,
  batch: MonitoredBatch,
): Promise<Buffer | undefined> {
  return batch.report ? ws.store.getBytes(batch.report) : undefined;
}

function parseBatch(body: Buffer): MonitoredBatch {
  return monitoredBatchSchema.parse(JSON.parse(body.toString('utf8')));
}
