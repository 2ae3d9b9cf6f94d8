import { z } from 'zod';
import type { CategoryDictionary } from '../data/categories';

/**
 * How categorical features become numbers, fitted in the transform step on the training rows and
 * stored in the transform artifact (the scaler JSON); the exported graph does the same with an
 * ai.onnx.ml LabelEncoder, so raw text rows score as training saw them.
 *
 * Frequency encoding, not one-hot: each category becomes the share of training rows that hold it,
 * and a category never seen in training becomes 0.
 * - It fits any cardinality in one column: accounts and computers in event logs run to thousands,
 *   and a capped one-hot would fold all but the top few into one "other" bucket while the
 *   autoencoder grows a column per category.
 * - For anomaly scoring the frequency is the signal that matters: a rare or never-seen account is
 *   unusual in itself, and 0 places an unseen category beyond the rarest one seen, on the same
 *   axis, where a one-hot "other" bucket would mix it with the merely infrequent.
 * - The graph is one standard op per column (LabelEncoder string -> float, default 0), which
 *   onnxruntime runs; no string ever reaches a Gemm.
 * What it gives up: two categories with the same frequency look alike to the model.
 */
export const categoricalEncodingSchema = z.object({
  kind: z.literal('frequency'),
  columns: z.array(
    z.object({
      feature: z.string().min(1),
      /** Position of the feature in the model's feature order. */
      index: z.number().int().nonnegative(),
      /** The snapshot's dictionary, in code order (a code is the index here). */
      categories: z.array(z.string().min(1)),
      /**
       * Share of training rows per category, rounded to float32 (what the graph holds, so the
       * in-process model and onnxruntime see the same number); 0 for a category met only outside
       * the training split, as for one never seen.
       */
      frequencies: z.array(z.number().min(0).max(1)),
    }),
  ),
});
export type CategoricalEncoding = z.infer<typeof categoricalEncodingSchema>;

/** The value of a category never seen in training. */
export const UNSEEN_CATEGORY_VALUE = 0;

/**
 * Fits the frequency encoding of the categorical features (those with a dictionary) on the
 * training rows of a snapshot whose categorical cells hold codes.
 */
export function fitFrequencyEncoding(
  features: string[],
  dictionaries: Array<CategoryDictionary | undefined>,
  trainRaw: Float32Array,
  nTrain: number,
): CategoricalEncoding {
  const nCols = features.length;
  const columns: CategoricalEncoding['columns'] = [];
  features.forEach((feature, index) => {
    const dictionary = dictionaries[index];
    if (!dictionary) return;
    const counts = new Float64Array(dictionary.values.length);
    for (let r = 0; r < nTrain; r++) {
      const code = trainRaw[r * nCols + index] as number;
      counts[code] = (counts[code] as number) + 1;
    }
    columns.push({
      feature,
      index,
      categories: [...dictionary.values],
      frequencies: Array.from(counts, (c) => Math.fround(nTrain > 0 ? c / nTrain : 0)),
    });
  });
  return { kind: 'frequency', columns };
}

/** A copy of row-major `x` (nCols per row) with each categorical code replaced by its frequency. */
export function encodeCategories(
  encoding: CategoricalEncoding,
  x: Float32Array,
  nCols: number,
): Float32Array {
  const out = Float32Array.from(x);
  for (const column of encoding.columns) {
    const { index, frequencies } = column;
    for (let k = index; k < out.length; k += nCols) {
      out[k] = frequencies[out[k] as number] ?? UNSEEN_CATEGORY_VALUE;
    }
  }
  return out;
}

/** The text of each categorical column's cells in `x` (codes decoded), one array per column. */
export function categoryTexts(
  encoding: CategoricalEncoding,
  x: Float32Array,
  nRows: number,
  nCols: number,
): string[][] {
  return encoding.columns.map(({ index, categories }) => {
    const texts = new Array<string>(nRows);
    for (let r = 0; r < nRows; r++) texts[r] = categories[x[r * nCols + index] as number] as string;
    return texts;
  });
}

/** The numeric (not categorical) columns of row-major `x`, in feature order, as a new matrix. */
export function numericPart(
  encoding: CategoricalEncoding | undefined,
  x: Float32Array,
  nRows: number,
  nCols: number,
): Float32Array {
  if (!encoding || encoding.columns.length === 0) return x.subarray(0, nRows * nCols);
  const categorical = new Set(encoding.columns.map((c) => c.index));
  const keep = Array.from({ length: nCols }, (_, j) => j).filter((j) => !categorical.has(j));
  const out = new Float32Array(nRows * keep.length);
  for (let r = 0; r < nRows; r++) {
    for (let k = 0; k < keep.length; k++)
      out[r * keep.length + k] = x[r * nCols + (keep[k] as number)] as number;
  }
  return out;
}
