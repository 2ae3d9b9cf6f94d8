import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HashingStream } from '../storage/hashing';
import { RowSample } from '../validation/rowSample';
import { checkCategoricalColumns, FeatureRowReader } from './categories';
import { ColumnStats } from './columnStats';
import { resolveCsvLimits } from './csvReader';
import { readCsvRows } from './csvRows';
import { didYouMean } from './didYouMean';
import { datasetError, where } from './errors';
import {
  DEFAULT_CREATED_BY,
  type ExtractOptions,
  type ExtractResult,
  profiledColumns,
  storeExtracted,
} from './extract';
import { NO_LABEL_COLUMN } from './noLabel';
import { SnapshotWriter } from './snapshot';
import { ByteLimit, openSourceStream, sourceLabel } from './sourceStream';
import { parseDatasetSource } from './sourceUri';

/**
 * ExampleGen for data without a label column (an anomaly run without --eval-label): reads the
 * features of every row (the given list, or every column), validating each cell as extraction
 * does, and writes the same snapshot and summary, with NO_LABEL_COLUMN all 0. It reads with the
 * shared reader of domain/data/csvRows.ts, without a target column.
 */
export async function extractUnlabelledDataset(
  options: Omit<ExtractOptions, 'target' | 'parser' | 'signal'>,
): Promise<ExtractResult> {
  const limits = resolveCsvLimits(options.limits);
  const source = parseDatasetSource(options.source, options.cwd);
  const file = sourceLabel(source);
  await mkdir(options.workDir, { recursive: true });
  const snapshotPath = join(options.workDir, `snapshot-${randomUUID()}.arrow`);
  let writer: SnapshotWriter | undefined;
  const raw = await openSourceStream(source, { maxBytes: limits.maxBytes, s3: options.s3 });
  try {
    const limiter = new ByteLimit(limits.maxBytes, file);
    const hashing = new HashingStream();
    raw.on('error', (err) => limiter.destroy(err));
    limiter.on('error', (err) => hashing.destroy(err));
    raw.pipe(limiter).pipe(hashing);
    let features: string[] = [];
    let stats: ColumnStats | undefined;
    let sample: RowSample | undefined;
    let reader: FeatureRowReader | undefined;
    let rows = 0;
    let values = new Float32Array(0);
    // The one CSV reader of extraction and apply (byte scanner, then csv-parse): cells, ragged
    // rows, quoting and row numbers are judged and worded as for labelled data.
    await readCsvRows({
      stream: hashing,
      file,
      onHeader(cells, headerRow) {
        const header = cells.map((h) => h.trim());
        features = options.features ?? header;
        const unknown = features.filter((f) => !header.includes(f));
        if (unknown.length > 0) {
          throw datasetError(
            'UnknownFeature',
            `${where(file, headerRow)}: no column ${unknown.map((f) => `"${f}"`).join(', ')}.${didYouMean(unknown, header)} ` +
              `The header has ${header.join(', ')}.`,
            { file, row: headerRow },
          );
        }
        checkCategoricalColumns(features, options.categorical ?? [], file);
        writer = new SnapshotWriter(snapshotPath, features, NO_LABEL_COLUMN);
        stats = new ColumnStats(features.length);
        sample = new RowSample(features.length);
        values = new Float32Array(features.length);
        const featureIndex = features.map((f) => header.indexOf(f));
        reader = new FeatureRowReader(features, options.categorical ?? [], featureIndex, file);
        return { width: header.length, ...reader.plan() };
      },
      onRow(read, _label, row, source) {
        reader?.compose(read, source, row, values);
        writer?.add(values, 0);
        stats?.add(values);
        sample?.add(values);
        rows++;
        if (options.onProgress && rows % 65_536 === 0) options.onProgress({ rows });
      },
    });
    if (!writer || !stats || !sample) {
      throw datasetError('EmptyFile', `${file} is empty: expected a header row and data rows.`, { file });
    }
    if (rows < 2) {
      throw datasetError(
        'NoDataRows',
        `${where(file, 2)}: fewer than 2 data rows; an anomaly model needs data.`,
        {
          file,
          row: 2,
        },
      );
    }
    await writer.close();
    const digest = hashing.digest();
    const columns = profiledColumns(features, stats, sample, reader);
    const profileSampleRows = sample.rowsKept;
    return await storeExtracted(options.store, snapshotPath, {
      createdBy: options.createdBy ?? DEFAULT_CREATED_BY,
      sourceUri: source.uri,
      sourceSha256: digest.sha256,
      sourceBytes: digest.bytes,
      rows,
      target: NO_LABEL_COLUMN,
      features,
      classCounts: { negative: rows, positive: 0 },
      positiveRate: 0,
      columns,
      profileSampleRows,
    });
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    raw.destroy();
    await rm(snapshotPath, { force: true });
  }
}
