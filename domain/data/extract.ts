import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PACKAGE_VERSION } from '../../config/repoRoot';
import type { ArtifactRef } from '../storage/artifactRef';
import type { ArtifactStore } from '../storage/artifactStore';
import { HashingStream } from '../storage/hashing';
import type { S3Settings } from '../storage/s3Client';
import { categoryProfile, columnProfile } from '../validation/profile';
import { RowSample } from '../validation/rowSample';
import type { FeatureRowReader } from './categories';
import { ColumnStats } from './columnStats';
import { type CsvLimits, readValidatedCsv, resolveCsvLimits } from './csvReader';
import type { CsvParserChoice } from './csvRows';
import { SNAPSHOT_BATCH_ROWS, SNAPSHOT_MEDIA_TYPE, SnapshotWriter } from './snapshot';
import { ByteLimit, openSourceStream, sourceLabel } from './sourceStream';
import { parseDatasetSource } from './sourceUri';
import { type DatasetSummary, serializeDatasetSummary } from './summary';
import { DEFAULT_TARGET_COLUMN } from './targetColumn';

/** Default `createdBy`: the package version only, so summaries dedupe across commits of one release. */
export const DEFAULT_CREATED_BY = `slipway ${PACKAGE_VERSION}`;

export interface ExtractProgress {
  rows: number;
}

export interface ExtractOptions {
  /** A CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S. */
  source: string;
  /** The 0/1 label column; default "Class". */
  target?: string;
  /** Feature columns in order; default every column but the target, in file order. */
  features?: string[];
  /** Features holding text categories (stored as codes, their dictionaries in the summary). */
  categorical?: string[];
  limits?: Partial<CsvLimits>;
  store: ArtifactStore;
  /** Scratch folder for the snapshot before it is stored; its file is removed whatever happens. */
  workDir: string;
  /** Endpoint and keys, needed only for s3:// sources. */
  s3?: S3Settings;
  /** Resolves relative source paths; default process.cwd(). */
  cwd?: string;
  /** Recorded in the summary; default DEFAULT_CREATED_BY. Anything that varies per run breaks dedupe. */
  createdBy?: string;
  /** Called after every record batch (64k rows), e.g. to heartbeat. */
  onProgress?(progress: ExtractProgress): void;
  /**
   * 'general' reads every line with csv-parse instead of the byte scanner (same snapshot, slower):
   * the reference the fast path is tested against. Default 'auto'.
   */
  parser?: CsvParserChoice;
  /** Aborts reading (the activity's cancellation signal); the error is the signal's reason. */
  signal?: AbortSignal;
}

export interface ExtractResult {
  snapshot: ArtifactRef;
  summary: ArtifactRef;
  summaryDoc: DatasetSummary;
}

/**
 * ExampleGen: reads a CSV source once, validating every cell, and writes an immutable snapshot
 * (Arrow IPC, see snapshot.ts) plus a JSON summary to the artifact store. Both are byte-identical
 * for the same source, so a retried extraction finds its objects already stored instead of
 * writing new ones. Bad data throws a DatasetError (non-retryable, with a stable `type`);
 * storage and network faults propagate as they are, to be retried.
 */
export async function extractDataset(options: ExtractOptions): Promise<ExtractResult> {
  const target = options.target ?? DEFAULT_TARGET_COLUMN;
  const limits = resolveCsvLimits(options.limits);
  const source = parseDatasetSource(options.source, options.cwd);
  const file = sourceLabel(source);

  await mkdir(options.workDir, { recursive: true });
  const snapshotPath = join(options.workDir, `snapshot-${randomUUID()}.arrow`);
  let raw: Readable | undefined;
  let stopOnAbort: (() => void) | undefined;
  let writer: SnapshotWriter | undefined;
  try {
    options.signal?.throwIfAborted();
    raw = await openSourceStream(source, { maxBytes: limits.maxBytes, s3: options.s3 });
    const upstream = raw;
    stopOnAbort = () => upstream.destroy(options.signal?.reason);
    options.signal?.addEventListener('abort', stopOnAbort, { once: true });
    // Aborted while the source was opening: the event has already fired.
    if (options.signal?.aborted) stopOnAbort();
    const limiter = new ByteLimit(limits.maxBytes, file);
    const hashing = new HashingStream();
    upstream.on('error', (err) => limiter.destroy(err));
    limiter.on('error', (err) => hashing.destroy(err));
    upstream.pipe(limiter).pipe(hashing);

    let stats: ColumnStats | undefined;
    let sample: RowSample | undefined;
    let categories: FeatureRowReader | undefined;
    const read = await readValidatedCsv({
      stream: hashing,
      file,
      target,
      features: options.features,
      categorical: options.categorical,
      limits,
      parser: options.parser,
      onLayout(layout, reader) {
        writer = new SnapshotWriter(snapshotPath, layout.features, layout.target);
        stats = new ColumnStats(layout.features.length);
        sample = new RowSample(layout.features.length);
        categories = reader;
      },
      onRow(row32, label) {
        writer?.add(row32, label);
        stats?.add(row32);
        sample?.add(row32);
        if (options.onProgress && writer && writer.rows % SNAPSHOT_BATCH_ROWS === 0) {
          options.onProgress({ rows: writer.rows });
        }
      },
    });
    if (!writer || !stats || !sample)
      throw new Error('extractDataset: the CSV reader returned without a header');
    await writer.close();
    options.onProgress?.({ rows: read.rows });
    const digest = hashing.digest();

    const columns = profiledColumns(read.layout.features, stats, sample, categories);
    return await storeExtracted(options.store, snapshotPath, {
      createdBy: options.createdBy ?? DEFAULT_CREATED_BY,
      sourceUri: source.uri,
      sourceSha256: digest.sha256,
      sourceBytes: digest.bytes,
      rows: read.rows,
      target,
      features: read.layout.features,
      classCounts: read.classCounts,
      positiveRate: read.classCounts.positive / read.rows,
      columns,
      profileSampleRows: sample.rowsKept,
    });
  } catch (err) {
    await (writer as SnapshotWriter | undefined)?.abort();
    throw err;
  } finally {
    if (stopOnAbort) options.signal?.removeEventListener('abort', stopOnAbort);
    raw?.destroy();
    await rm(snapshotPath, { force: true });
  }
}

/**
 * The summary's columns: moments over all rows and a profile over the row sample for a numeric
 * feature; for a categorical one, its dictionary with counts (its moments describe codes).
 */
export function profiledColumns(
  features: string[],
  stats: ColumnStats,
  sample: RowSample,
  categories: FeatureRowReader | undefined,
): DatasetSummary['columns'] {
  return features.map((name, j) => {
    const moments = stats.column(j);
    const dictionary = categories?.dictionaryOf(j);
    if (dictionary) {
      return { name, ...moments, profile: categoryProfile(dictionary.values.length), categories: dictionary };
    }
    return { name, ...moments, profile: columnProfile(sample.sortedColumn(j), moments.min, moments.max) };
  });
}

/**
 * Stores an extraction's two artifacts: the snapshot file, then the summary that names it (its
 * sha256 and format, and the constant features, derived here from the columns). Shared by the
 * labelled and the unlabelled extraction.
 */
export async function storeExtracted(
  store: ArtifactStore,
  snapshotPath: string,
  facts: Omit<DatasetSummary, 'formatVersion' | 'snapshotSha256' | 'snapshotFormat' | 'constantFeatures'>,
): Promise<ExtractResult> {
  const snapshot = await store.put(
    { filePath: snapshotPath },
    { kind: 'dataset', mediaType: SNAPSHOT_MEDIA_TYPE, extension: '.arrow' },
  );
  const summaryDoc: DatasetSummary = {
    formatVersion: 1,
    ...facts,
    snapshotSha256: snapshot.sha256,
    snapshotFormat: 'arrow-ipc-file',
    constantFeatures: facts.columns.filter((c) => c.min === c.max).map((c) => c.name),
  };
  const summary = await store.put(serializeDatasetSummary(summaryDoc), {
    kind: 'dataset-summary',
    mediaType: 'application/json',
    extension: '.json',
  });
  return { snapshot, summary, summaryDoc };
}
