import { parse } from 'csv-parse';
import type { S3Settings } from '../storage/s3Client';
import { datasetError } from './errors';
import { type CsvLayout, planLayout } from './layout';
import { openSourceStream, sourceLabel } from './sourceStream';
import type { DatasetSource } from './sourceUri';

/**
 * Reads only the header row of a source and checks the target and the features against it, as
 * extraction will: for commands that set up work to run later (a schedule), so a wrong column is
 * refused now, with the same message, instead of failing every run.
 */
export async function checkSourceHeader(options: {
  source: DatasetSource;
  target: string;
  features?: string[];
  s3?: S3Settings;
}): Promise<CsvLayout> {
  const file = sourceLabel(options.source);
  const stream = await openSourceStream(options.source, {
    maxBytes: Number.POSITIVE_INFINITY,
    s3: options.s3,
  });
  const parser = parse({ bom: true, to_line: 1, relax_column_count: true });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      return planLayout(record, file, options.target, options.features);
    }
  } finally {
    stream.unpipe(parser);
    stream.destroy();
  }
  throw datasetError(
    'EmptyFile',
    `${file} is empty: expected a header row and data rows. Check that the export finished and that this is the right file.`,
    { file },
  );
}
