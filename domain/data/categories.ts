import { z } from 'zod';
import type { RowPlan, RowSource } from './csvRows';
import { datasetError, where } from './errors';

/**
 * Most distinct values a categorical column may have. Above it the column is an identifier (a
 * session id, a timestamp as text) rather than a category: its dictionary would bloat the summary
 * and the ONNX graph, and almost every value would be seen once. Refused with the figures.
 */
export const MAX_CATEGORIES = 10_000;

/**
 * The categories of one column as extraction found them: `values` in code order (first
 * appearance in the file, so the same file gives the same codes) and how many rows hold each.
 * The snapshot stores a categorical cell as its code (a float32 integer, exact below 2^24).
 */
export const categoryDictionarySchema = z.object({
  values: z.array(z.string().min(1)),
  counts: z.array(z.number().int().nonnegative()),
});
export type CategoryDictionary = z.infer<typeof categoryDictionarySchema>;

/** Codes for the categorical columns of one extraction, counted as rows stream by. */
export class CategoryCoder {
  private readonly codes: Array<Map<string, number>>;
  private readonly counts: number[][];

  constructor(
    private readonly columns: string[],
    private readonly file: string,
  ) {
    this.codes = columns.map(() => new Map());
    this.counts = columns.map(() => []);
  }

  /** The code of `text` in categorical column `c` (a new one for a first sighting). */
  code(c: number, text: string, row: number): number {
    const codes = this.codes[c] as Map<string, number>;
    const counts = this.counts[c] as number[];
    let code = codes.get(text);
    if (code === undefined) {
      code = codes.size;
      if (code >= MAX_CATEGORIES) {
        const column = this.columns[c] as string;
        throw datasetError(
          'TooManyCategories',
          `${where(this.file, row, column)}: the categorical column has more than ${MAX_CATEGORIES.toLocaleString('en-US')} ` +
            'distinct values by this row, so it looks like an identifier rather than a category. Leave it out of ' +
            '--categorical and --features, or group its values (a prefix, a bucket) before extracting.',
          { file: this.file, row, column },
        );
      }
      codes.set(text, code);
      counts.push(0);
    }
    counts[code] = (counts[code] as number) + 1;
    return code;
  }

  dictionary(c: number): CategoryDictionary {
    return {
      values: [...(this.codes[c] as Map<string, number>).keys()],
      counts: [...(this.counts[c] as number[])],
    };
  }
}

/**
 * How a row of features (numeric and categorical, in feature order) is read from a CSV whose
 * header has the feature columns at `featureIndex`: the numbers through the plan's feature
 * fields, the categories through its text fields, put back in feature order by `compose`.
 */
export class FeatureRowReader {
  /** Position in feature order of each numeric value the reader hands out. */
  private readonly numericAt: number[];
  /** Position in feature order of each text field. */
  private readonly textAt: number[];
  readonly coder: CategoryCoder;

  constructor(
    readonly features: string[],
    readonly categorical: string[],
    private readonly featureIndex: number[],
    file: string,
  ) {
    const isCategorical = features.map((f) => categorical.includes(f));
    this.numericAt = features.flatMap((_, j) => (isCategorical[j] ? [] : [j]));
    this.textAt = features.flatMap((_, j) => (isCategorical[j] ? [j] : []));
    this.coder = new CategoryCoder(
      this.textAt.map((j) => features[j] as string),
      file,
    );
  }

  /** The fields of the reader's plan (width and target are the caller's). */
  plan(): Pick<RowPlan, 'featureIndex' | 'features' | 'text'> {
    const { features, featureIndex } = this;
    return {
      featureIndex: this.numericAt.map((j) => featureIndex[j] as number),
      features: this.numericAt.map((j) => features[j] as string),
      ...(this.textAt.length > 0
        ? {
            text: this.textAt.map((j) => ({ index: featureIndex[j] as number, name: features[j] as string })),
          }
        : {}),
    };
  }

  /** One row in feature order into `out`: the numbers, and each category as its code. */
  compose(values: Float64Array, source: RowSource, row: number, out: Float32Array): void {
    const { numericAt, textAt } = this;
    for (let k = 0; k < numericAt.length; k++) out[numericAt[k] as number] = values[k] as number;
    for (let t = 0; t < textAt.length; t++) {
      out[textAt[t] as number] = this.coder.code(t, source.texts[t] as string, row);
    }
  }

  /** The dictionary of feature `j` when it is categorical. */
  dictionaryOf(j: number): CategoryDictionary | undefined {
    const t = this.textAt.indexOf(j);
    return t < 0 ? undefined : this.coder.dictionary(t);
  }
}

/** Refuses a --categorical column that is not among the features, naming it. */
export function checkCategoricalColumns(features: string[], categorical: string[], file: string): void {
  const stray = categorical.filter((c) => !features.includes(c));
  if (stray.length > 0) {
    throw datasetError(
      'UnknownFeature',
      `${where(file, 1)}: --categorical names ${stray.map((s) => `"${s}"`).join(', ')}, which ${stray.length > 1 ? 'are' : 'is'} ` +
        `not among the features (${features.join(', ')}). A categorical column is a feature: list it in --features too, or leave --features out.`,
      { file, row: 1, column: stray[0] as string },
    );
  }
}
