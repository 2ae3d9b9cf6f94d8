import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { datasetError } from './errors';

export type DatasetSource =
  | { kind: 'file'; uri: string; path: string }
  | { kind: 's3'; uri: string }
  | { kind: 'synthetic'; uri: string; generator: 'fraud'; rows: number; seed: number };

const syntheticQuerySchema = z
  .object({
    rows: z.coerce.number().int().min(10).max(10_000_000).default(284_807),
    seed: z.coerce
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
  })
  .strict();

/**
 * Parses what a person types as a source: a path, file://..., s3://bucket/key, or
 * synthetic:fraud?rows=N&seed=S. Relative paths are resolved against `cwd`, so the recorded URI
 * is absolute and means the same thing to a worker on another directory.
 */
export function parseDatasetSource(input: string, cwd = process.cwd()): DatasetSource {
  const text = input.trim();
  if (text.startsWith('synthetic:')) {
    const [name, query = ''] = text.slice('synthetic:'.length).split('?', 2);
    if (name !== 'fraud') {
      throw datasetError(
        'InvalidSource',
        `Unknown synthetic generator "${name}" in "${text}": the one available is synthetic:fraud?rows=N&seed=S.`,
      );
    }
    const parsed = syntheticQuerySchema.safeParse(Object.fromEntries(new URLSearchParams(query)));
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'query'}: ${i.message}`)
        .join('; ');
      throw datasetError(
        'InvalidSource',
        `Invalid synthetic source "${text}": ${problems}. Example: synthetic:fraud?rows=20000&seed=7.`,
      );
    }
    const { rows, seed } = parsed.data;
    return {
      kind: 'synthetic',
      generator: 'fraud',
      rows,
      seed,
      uri: `synthetic:fraud?rows=${rows}&seed=${seed}`,
    };
  }
  if (text.startsWith('s3://')) return { kind: 's3', uri: text };
  if (text.startsWith('file://')) {
    const path = fileURLToPath(text);
    return { kind: 'file', path, uri: `file://${path}` };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw datasetError(
      'InvalidSource',
      `Unsupported source "${text}": use a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S.`,
    );
  }
  if (text === '')
    throw datasetError(
      'InvalidSource',
      'No source given: pass a CSV path, s3://bucket/key or synthetic:fraud.',
    );
  const path = isAbsolute(text) ? text : resolve(cwd, text);
  return { kind: 'file', path, uri: `file://${path}` };
}
