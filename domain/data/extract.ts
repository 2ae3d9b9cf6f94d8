import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ArtifactRef } from '../storage/artifactRef';
import type { ArtifactStore } from '../storage/artifactStore';
import { HashingStream } from '../storage/hashing';
import { createS3Client, openS3Object, type S3Settings, statS3Object } from '../storage/s3Client';
import { ColumnStats } from './columnStats';
import { type CsvLimits, defaultCsvLimits, readValidatedCsv } from './csvReader';
import { datasetError } from './errors';
import { SNAPSHOT_MEDIA_TYPE, SnapshotWriter } from './snapshot';
import { type DatasetSource, parseDatasetSource } from './sourceUri';
import { type DatasetSummary, datasetSummarySchema } from './summary';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from './syntheticFraud';

export interface ExtractOptions {
  source: string;
  target?: string;
  features?: string[];
  limits?: Partial<CsvLimits>;
  store: ArtifactStore;
  /** Scratch folder for the snapshot before it is stored; cleaned whatever happens. */
  workDir: string;
  /** Needed only for s3:// sources. */
  s3?: S3Settings;
}

export interface ExtractResult {
  snapshot: ArtifactRef;
  summary: ArtifactRef;
  summaryDoc: DatasetSummary;
}

/** Fails the stream once more than `maxBytes` have passed, so an oversized source stops early. */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly file: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      done(tooLarge(this.file, this.seen, this.maxBytes, true));
      return;
    }
    done(null, chunk);
  }
}

function tooLarge(file: string, bytes: number, max: number, atLeast = false) {
  return datasetError(
    'SourceTooLarge',
    `${file} is ${atLeast ? 'at least ' : ''}${bytes} bytes, over the limit of ${max} bytes. ` +
      'Sample the data or raise the limit (limits.maxBytes).',
    { file },
  );
}

/** The canonical CSV text of a synthetic source, streamed: what its sha256 is computed over. */
function syntheticCsv(rows: number, seed: number): Readable {
  function* lines(): Generator<string> {
    yield `${SYNTHETIC_FRAUD_COLUMNS.join(',')}\n`;
    let chunk: string[] = [];
    for (const row of syntheticFraudRows({ rows, seed })) {
      chunk.push(row.join(','));
      if (chunk.length === 4096) {
        yield `${chunk.join('\n')}\n`;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
  }
  return Readable.from(lines(), { objectMode: false });
}

async function openSource(source: DatasetSource, limits: CsvLimits, s3?: S3Settings): Promise<Readable> {
  switch (source.kind) {
    case 'synthetic':
      return syntheticCsv(source.rows, source.seed);
    case 'file': {
      const info = await stat(source.path).catch(() => undefined);
      if (!info?.isFile()) {
        throw datasetError(
          'SourceNotFound',
          `${source.path} does not exist or is not a file. Check the path.`,
          {
            file: source.path,
          },
        );
      }
      if (info.size > limits.maxBytes) throw tooLarge(source.path, info.size, limits.maxBytes);
      return createReadStream(source.path);
    }
    case 's3': {
      if (!s3) {
        throw datasetError(
          'InvalidSource',
          `${source.uri} is an S3 source but no S3 endpoint is configured: set SLIPWAY_S3_ENDPOINT and credentials.`,
        );
      }
      const connection = createS3Client(s3);
      const info = await statS3Object(connection, source.uri);
      if (!info)
        throw datasetError('SourceNotFound', `${source.uri} does not exist. Check the bucket and key.`, {
          file: source.uri,
        });
      if (info.bytes > limits.maxBytes) throw tooLarge(source.uri, info.bytes, limits.maxBytes);
      return (await openS3Object(connection, source.uri)).body;
    }
  }
}

/**
 * ExampleGen: reads a CSV source once, validating every cell, and writes an immutable snapshot
 * (Arrow) plus a JSON summary to the artifact store. Both are byte-identical for the same source,
 * so a retried extraction finds its objects already stored instead of writing new ones.
 */
export async function extractDataset(options: ExtractOptions): Promise<ExtractResult> {
  const target = options.target ?? 'Class';
  const limits = { ...defaultCsvLimits, ...options.limits };
  const source = parseDatasetSource(options.source);
  const file = source.kind === 'file' ? source.path : source.uri;

  await mkdir(options.workDir, { recursive: true });
  const snapshotPath = join(options.workDir, `snapshot-${randomUUID()}.arrow`);
  let writer: SnapshotWriter | undefined;
  let stats: ColumnStats | undefined;
  try {
    const raw = await openSource(source, limits, options.s3);
    const hashing = new HashingStream();
    const limited = raw.pipe(new ByteLimit(limits.maxBytes, file));
    raw.on('error', (err) => limited.destroy(err));
    limited.on('error', (err) => hashing.destroy(err));
    const counted = limited.pipe(hashing);

    const read = await readValidatedCsv({
      stream: counted,
      file,
      target,
      features: options.features,
      limits,
      onLayout(layout) {
        writer = new SnapshotWriter(snapshotPath, layout.features, layout.target);
        stats = new ColumnStats(layout.features.length);
      },
      onRow(values, label) {
        writer?.add(values, label);
        stats?.add(values);
      },
    });
    await writer?.close();
    const digest = hashing.digest();

    const snapshot = await options.store.put(
      { filePath: snapshotPath },
      { kind: 'dataset', mediaType: SNAPSHOT_MEDIA_TYPE, extension: '.arrow' },
    );
    const columns = read.layout.features.map((name, j) => ({ name, ...(stats as ColumnStats).column(j) }));
    const summaryDoc = datasetSummarySchema.parse({
      formatVersion: 1,
      sourceUri: source.uri,
      sourceSha256: digest.sha256,
      sourceBytes: digest.bytes,
      snapshotSha256: snapshot.sha256,
      snapshotFormat: 'arrow-ipc-file',
      rows: read.rows,
      target,
      features: read.layout.features,
      classCounts: read.classCounts,
      positiveRate: read.classCounts.positive / read.rows,
      columns,
      constantFeatures: columns.filter((c) => c.min === c.max).map((c) => c.name),
    } satisfies DatasetSummary);
    const summary = await options.store.put(`${JSON.stringify(summaryDoc, null, 2)}\n`, {
      kind: 'dataset-summary',
      mediaType: 'application/json',
      extension: '.json',
    });
    return { snapshot, summary, summaryDoc };
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await rm(snapshotPath, { force: true });
  }
}
