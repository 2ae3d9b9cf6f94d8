import { resolveCsvLimits } from '../domain/data/csvReader';
import { readSnapshot } from '../domain/data/snapshot';
import { openSourceStream, sourceLabel } from '../domain/data/sourceStream';
import { parseDatasetSource } from '../domain/data/sourceUri';
import { parseDatasetSummary } from '../domain/data/summary';
import type { ModelVersionMetadata } from '../domain/registry/metadata';
import { renderDriftReport } from '../domain/report/driftReport';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import { type DatasetDrift, type DriftColumn, datasetDrift } from '../domain/validation/datasetDrift';
import {
  dictionaryCounts,
  readSortedFeatureColumns,
  sortedSnapshotColumns,
} from '../domain/validation/featureColumns';
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
  const snapshotRef = trainingSnapshotOf(metadata, name, version);
  const source = parseDatasetSource(input);
  const file = sourceLabel(source);
  const categorical = await categoricalDictionaries(ws, metadata);
  const current = await readColumnsOf(ws, input, metadata.features, [...categorical.keys()]);
  const reference = await trainingColumns(ws, snapshotRef, metadata.features, categorical);
  const drift = datasetDrift(metadata.features, reference, current.columns);
  const referenceLabel = `training snapshot ${snapshotRef.sha256.slice(0, 12)} of ${metadata.sourceUri}`;
  const html = renderDriftReport({ model: name, version, referenceLabel, currentLabel: file, drift });
  return { model: name, version, via, reference: snapshotRef.uri, current: source.uri, drift, html };
}

/** The snapshot a version was trained on; an imported version has none, which is said plainly. */
export function trainingSnapshotOf(
  metadata: ModelVersionMetadata,
  name: string,
  version: number,
): ArtifactRef {
  const ref = metadata.artifacts.dataset;
  if (!ref) {
    throw new Error(
      `${name} v${version} has no training snapshot (it was imported, not trained here), so there is no reference ` +
        'to compare with. Compare against a version trained by Slipway.',
    );
  }
  return ref;
}

/**
 * The categorical features of a version's training data and their dictionaries (with counts over
 * every row), from its dataset summary; none for a version without one or without categories.
 */
export async function categoricalDictionaries(
  ws: Workspace,
  metadata: ModelVersionMetadata,
): Promise<Map<string, { values: string[]; counts: number[] }>> {
  const ref = metadata.artifacts.datasetSummary;
  if (!ref) return new Map();
  const summary = parseDatasetSummary(await ws.store.getBytes(ref));
  return new Map(
    summary.columns.flatMap((c) =>
      c.categories && metadata.features.includes(c.name) ? [[c.name, c.categories] as const] : [],
    ),
  );
}

/**
 * Each of `features` of the training snapshot: a numeric one sorted, a categorical one (in
 * `categorical`) as its counts per category.
 */
export async function trainingColumns(
  ws: Workspace,
  snapshot: ArtifactRef,
  features: readonly string[],
  categorical: ReadonlyMap<string, { values: string[]; counts: number[] }> = new Map(),
): Promise<DriftColumn[]> {
  const numeric = features.filter((f) => !categorical.has(f));
  const sorted =
    numeric.length > 0 ? sortedSnapshotColumns(readSnapshot(await ws.store.getBytes(snapshot)), numeric) : [];
  return features.map((f) => {
    const dictionary = categorical.get(f);
    return dictionary ? dictionaryCounts(dictionary) : (sorted[numeric.indexOf(f)] as Float64Array);
  });
}

/** Named columns of a CSV (a path, s3://... or synthetic:...): numeric ones sorted, `categorical` ones counted. */
export async function readColumnsOf(
  ws: Workspace,
  input: string,
  columns: readonly string[],
  categorical: readonly string[] = [],
): Promise<{ rows: number; columns: DriftColumn[] }> {
  const source = parseDatasetSource(input);
  const stream = await openSourceStream(source, {
    maxBytes: ws.config.env.SLIPWAY_MAX_SOURCE_BYTES ?? resolveCsvLimits().maxBytes,
    s3: ws.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(ws.config) : undefined,
  });
  return readSortedFeatureColumns({ stream, file: sourceLabel(source), features: columns, categorical });
}
