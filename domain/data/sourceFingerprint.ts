import { type Digest, digestStream } from '../storage/hashing';
import type { S3Settings } from '../storage/s3Client';
import { type CsvLimits, resolveCsvLimits } from './csvReader';
import { ByteLimit, openSourceStream, sourceLabel } from './sourceStream';
import { parseDatasetSource } from './sourceUri';

export interface SourceFingerprint extends Digest {
  /** The canonical URI of the source (file paths made absolute). */
  sourceUri: string;
}

/**
 * The sha256 and size of a source's raw bytes: the same figure extraction records as
 * `sourceSha256`, so "has this data changed?" can be answered (step cache, scheduled runs)
 * without parsing it. Reads the source once, under the same size limit as extraction.
 */
export async function fingerprintSource(
  uri: string,
  options: { s3?: S3Settings; limits?: Partial<CsvLimits>; cwd?: string } = {},
): Promise<SourceFingerprint> {
  const source = parseDatasetSource(uri, options.cwd);
  const { maxBytes } = resolveCsvLimits(options.limits);
  const raw = await openSourceStream(source, { maxBytes, s3: options.s3 });
  const limiter = new ByteLimit(maxBytes, sourceLabel(source));
  raw.on('error', (err) => limiter.destroy(err));
  const digest = await digestStream(raw.pipe(limiter));
  return { sourceUri: source.uri, ...digest };
}
