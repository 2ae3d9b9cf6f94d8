import { ScoringError } from './errors';

/** The class-1 column of a [N], [N, 1] or [N, 2] float output. */
export function positiveClass(
  data: Float32Array,
  dims: readonly number[],
  nRows: number,
  name: string,
): Float32Array {
  const perRow = data.length / nRows;
  if (perRow === 1) return data;
  if (perRow === 2) {
    const positive = new Float32Array(nRows);
    for (let i = 0; i < nRows; i++) positive[i] = data[2 * i + 1] as number;
    return positive;
  }
  throw new ScoringError(
    'UnsupportedModelOutput',
    `Output "${name}" gave ${data.length} values for ${nRows} rows (shape [${dims.join(', ')}]); ` +
      'a binary classifier gives 1 or 2 per row.',
  );
}
