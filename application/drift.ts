import { resolveCsvLimits } from '../domain/data/csvReader';
import { readSnapshot } from '../domain/data/snapshot';
import { openSourceStream, sourceLabel } from '../domain/data/sourceStream';
import { parseDatasetSource } from '../domain/data/sourceUri';
import { renderDriftReport } from '../domain/report/driftReport';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import { type DatasetDrift, datasetDrift } from '../domain/validation/datasetDrift';
import { readSortedFeatureColumns, sortedSnapshotColumns } from '../domain/validation/featureColumns';
import { resolveModelRef } from './models';
import type { Workspace } from './workspace';

export interface VersionDrift {
  model: string;
  version: number;
  via?: string;
  /** The snapshot the version was trained on (URI), and the data compared with it. */
  reference: string;
  current: string;
  drift: DatasetDrift;
  /** The self-contained HTML report. */
  html: string;
}

/**
 * Drift of new data against the data a version was trained on (its dataset snapshot), per
 * feature: what `slipway drift` prints. The current data is a CSV (or any extraction source) with
 * the version's feature columns, in any order; no label is needed.
 */
export async function driftOfVersion(ws: Workspace, ref: string, input: string): Promise<VersionDrift> {
  const { name, version, via } = await resolveModelRef(ws, ref);
  const metadata = await ws.registry.getVersion(name, version);
  const snapshotRef = metadata.artifacts.dataset;
  if (!snapshotRef) {
    throw new Error(
      `${name} v${version} has no training snapshot (it was imported, not trained here), so there is no reference ` +
        'to compare with. Compare against a version trained by Slipway.',
    );
  }
  const source = parseDatasetSource(input);
  const file = sourceLabel(source);
  const stream = await openSourceStream(source, {
    maxBytes: ws.config.env.SLIPWAY_MAX_SOURCE_BYTES ?? resolveCsvLimits().maxBytes,
    s3: ws.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(ws.config) : undefined,
  });
  const current = await readSortedFeatureColumns({ stream, file, features: metadata.features });
  const matrix = readSnapshot(await ws.store.getBytes(snapshotRef));
  const reference = sortedSnapshotColumns(matrix, metadata.features);
  const drift = datasetDrift(metadata.features, reference, current.columns);
  const referenceLabel = `training snapshot ${snapshotRef.sha256.slice(0, 12)} of ${metadata.sourceUri}`;
  const html = renderDriftReport({ model: name, version, referenceLabel, currentLabel: file, drift });
  return { model: name, version, via, reference: snapshotRef.uri, current: source.uri, drift, html };
}
