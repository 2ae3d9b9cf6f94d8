import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { parseS3Uri } from '../storage/s3Client';
import { datasetError } from './errors';

export type DatasetSource =
  | { kind: 'file'; uri: string; path: string }
  | { kind: 's3'; uri: string; bucket: string; key: string }
  | { kind: 'synthetic'; uri: string; generator: SyntheticGenerator; rows: number; seed: number };

/** fraud: the credit-card-fraud shape (syntheticFraud.ts); winevents: hourly Windows event counts (syntheticWinEvents.ts). */
export const SYNTHETIC_GENERATORS = ['fraud', 'winevents'] as const;
export type SyntheticGenerator = (typeof SYNTHETIC_GENERATORS)[number];

export const SYNTHETIC_DEFAULTS = { rows: 284_807, seed: 42 } as const;

const syntheticQuerySchema = z
  .object({
    rows: z.coerce.number().int().min(10).max(10_000_000).default(SYNTHETIC_DEFAULTS.rows),
    seed: z.coerce
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(SYNTHETIC_DEFAULTS.seed),
  })
  .strict();

const EXAMPLES = 'a CSV path, file:///abs/path.csv, s3://bucket/key or synthetic:fraud?rows=N&seed=S';

/**
 * Parses what a person types as a source: a path, file://..., s3://bucket/key, or
 * synthetic:fraud?rows=N&seed=S. Relative paths are resolved against `cwd`, so the recorded URI
 * is absolute and means the same thing to a worker in another directory. The returned `uri` is
 * canonical (synthetic defaults spelled out, file paths percent-encoded), so two spellings of
 * one source give one summary.
 */
export function parseDatasetSource(input: string, cwd = process.cwd()): DatasetSource {
  const text = input.trim();
  if (text === '') throw datasetError('InvalidSource', `No source given: pass ${EXAMPLES}.`);
  if (text.startsWith('synthetic:')) return parseSynthetic(text);
  if (text.startsWith('s3://')) {
    try {
      const { bucket, key } = parseS3Uri(text);
      if (key === '') throw new Error(`"${text}" names a bucket, not an object: add the object key.`);
      return { kind: 's3', uri: `s3://${bucket}/${key}`, bucket, key };
    } catch (err) {
      throw datasetError('InvalidSource', `Invalid S3 source: ${(err as Error).message}`, { file: text });
    }
  }
  if (text.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(text);
    } catch (err) {
      throw datasetError(
        'InvalidSource',
        `Invalid file URI "${text}": ${(err as Error).message}. Use file:///absolute/path.csv or a plain path.`,
        { file: text },
      );
    }
    return fileSource(path);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw datasetError('InvalidSource', `Unsupported source "${text}": use ${EXAMPLES}.`, { file: text });
  }
  return fileSource(isAbsolute(text) ? text : resolve(cwd, text));
}

function fileSource(path: string): DatasetSource {
  return { kind: 'file', path, uri: pathToFileURL(path).href };
}

function parseSynthetic(text: string): DatasetSource {
  const [name, query = ''] = text.slice('synthetic:'.length).split('?', 2);
  const generator = SYNTHETIC_GENERATORS.find((g) => g === name);
  if (generator === undefined) {
    throw datasetError(
      'InvalidSource',
      `Unknown synthetic generator "${name}" in "${text}": the ones available are synthetic:fraud?rows=N&seed=S ` +
        'and synthetic:winevents?rows=N&seed=S.',
      { file: text },
    );
  }
  const params = new URLSearchParams(query);
  const repeated = [...new Set(params.keys())].filter((k) => params.getAll(k).length > 1);
  const parsed = syntheticQuerySchema.safeParse(Object.fromEntries(params));
  if (repeated.length > 0 || !parsed.success) {
    const problems = [
      ...repeated.map((k) => `${k}: given more than once`),
      ...(parsed.success ? [] : parsed.error.issues).map(
        (i) => `${i.path.join('.') || 'query'}: ${i.message}`,
      ),
    ].join('; ');
    throw datasetError(
      'InvalidSource',
      `Invalid synthetic source "${text}": ${problems}. rows is an integer from 10 to 10,000,000 ` +
        `(default ${SYNTHETIC_DEFAULTS.rows}), seed an integer from 0 to 2^31-1 (default ${SYNTHETIC_DEFAULTS.seed}). ` +
        'Example: synthetic:fraud?rows=20000&seed=7.',
      { file: text },
    );
  }
  const { rows, seed } = parsed.data;
  return {
    kind: 'synthetic',
    generator,
    rows,
    seed,
    uri: `synthetic:${generator}?rows=${rows}&seed=${seed}`,
  };
}
