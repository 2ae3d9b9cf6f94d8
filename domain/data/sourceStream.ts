import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createS3Client, openS3Object, type S3Settings, statS3Object } from '../storage/s3Client';
import { datasetError } from './errors';
import type { DatasetSource } from './sourceUri';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from './syntheticFraud';
import { SYNTHETIC_WIN_EVENTS_COLUMNS, syntheticWinEventRows } from './syntheticWinEvents';

export interface OpenSourceOptions {
  maxBytes: number;
  /** Endpoint and keys for s3:// sources. */
  s3?: S3Settings;
}

/** How messages name the source: the path for files, the URI otherwise. */
export function sourceLabel(source: DatasetSource): string {
  return source.kind === 'file' ? source.path : source.uri;
}

/**
 * The raw bytes of a source as a stream. Sizes known up front (a file, an S3 object) are checked
 * against the limit before reading; the caller still counts bytes as they flow, since a stream
 * may be longer than announced.
 */
export async function openSourceStream(source: DatasetSource, options: OpenSourceOptions): Promise<Readable> {
  switch (source.kind) {
    case 'synthetic':
      return source.generator === 'winevents'
        ? syntheticWinEventsCsvStream(source.rows, source.seed)
        : syntheticCsvStream(source.rows, source.seed);
    case 'file': {
      const info = await stat(source.path).catch(() => undefined);
      if (!info?.isFile()) {
        throw datasetError(
          'SourceNotFound',
          `${source.path} does not exist or is not a file. Check the path (relative paths are resolved ` +
            'against the directory the command ran in).',
          { file: source.path },
        );
      }
      if (info.size > options.maxBytes) throw sourceTooLarge(source.path, info.size, options.maxBytes);
      // Larger reads than the 64 KiB default: fewer chunks through the byte limit and the hash.
      return createReadStream(source.path, { highWaterMark: 256 * 1024 });
    }
    case 's3': {
      if (!options.s3) {
        throw datasetError(
          'InvalidSource',
          `${source.uri} is an S3 source but no S3 endpoint is configured: set SLIPWAY_S3_ENDPOINT and ` +
            'SLIPWAY_S3_ACCESS_KEY / SLIPWAY_S3_SECRET_KEY.',
          { file: source.uri },
        );
      }
      const connection = createS3Client(options.s3);
      const info = await statS3Object(connection, source.uri);
      if (!info) {
        throw datasetError('SourceNotFound', `${source.uri} does not exist. Check the bucket and key.`, {
          file: source.uri,
        });
      }
      if (info.bytes > options.maxBytes) throw sourceTooLarge(source.uri, info.bytes, options.maxBytes);
      return (await openS3Object(connection, source.uri)).body;
    }
  }
}

export function sourceTooLarge(file: string, bytes: number, max: number, atLeast = false) {
  return datasetError(
    'SourceTooLarge',
    `${file} is ${atLeast ? 'at least ' : ''}${bytes} bytes, over the limit of ${max} bytes. ` +
      'Sample the data, or raise the limit with SLIPWAY_MAX_SOURCE_BYTES on the workers.',
    { file },
  );
}

/** Fails the stream once more than `maxBytes` have passed, so an oversized source stops early. */
export class ByteLimit extends Transform {
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
      done(sourceTooLarge(this.file, this.seen, this.maxBytes, true));
      return;
    }
    done(null, chunk);
  }
}

/**
 * The canonical CSV text of a synthetic source, streamed: the same bytes go through the same
 * parser and validation as a real file, and its sha256 is what the summary records as the
 * source hash. Numbers are written with JavaScript's shortest round-trip formatting, which the
 * language defines exactly, so the text (and its hash) is the same on every machine and the
 * parser reads back exactly the generated float64 values.
 */
export function syntheticCsvStream(rows: number, seed: number): Readable {
  return csvTextStream(SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows({ rows, seed }));
}

/** The canonical CSV text of synthetic:winevents (see syntheticWinEvents.ts), streamed like the fraud data. */
export function syntheticWinEventsCsvStream(rows: number, seed: number): Readable {
  return csvTextStream(SYNTHETIC_WIN_EVENTS_COLUMNS, syntheticWinEventRows({ rows, seed }));
}

/** A header and generated rows (plain cells, no quoting needed) as CSV text, 4,096 lines per chunk. */
function csvTextStream(columns: readonly string[], rows: Iterable<ReadonlyArray<number | string>>): Readable {
  function* chunks(): Generator<string> {
    yield `${columns.join(',')}\n`;
    let lines: string[] = [];
    for (const row of rows) {
      lines.push(row.join(','));
      if (lines.length === 4096) {
        yield `${lines.join('\n')}\n`;
        lines = [];
      }
    }
    if (lines.length > 0) yield `${lines.join('\n')}\n`;
  }
  return Readable.from(chunks(), { objectMode: false });
}
