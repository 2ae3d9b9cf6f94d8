import { didYouMean } from '../data/didYouMean';
import { datasetError, where } from '../data/errors';
import { ScoringError } from './errors';

/** The columns apply adds, after every column of the input. */
export interface AddedColumns {
  /** `predicted(<target>)`: 0/1, probability >= threshold, as the operations platform names it. */
  predicted: string;
  /** `probability(<target>)` unless overridden: the model's probability of class 1. */
  probability: string;
  /** `apply --explain k`: reason<i>(<target>) and effect<i>(<target>) for i = 1..k. */
  explanation?: string[];
}

export function addedColumns(target: string, probabilityColumn?: string): AddedColumns {
  return {
    predicted: `predicted(${target})`,
    probability: probabilityColumn ?? `probability(${target})`,
  };
}

/**
 * Where each feature is in `header`, by name (surrounding spaces ignored), so the file's column
 * order does not matter. Every missing feature is named at once, with the header beside them,
 * since a renamed or misspelt column is the usual cause.
 */
export function matchFeatureColumns(
  header: string[],
  features: string[],
  file: string,
  added: AddedColumns,
): number[] {
  const index = new Map<string, number>();
  header.forEach((cell, i) => {
    const name = cell.trim();
    const first = index.get(name);
    // A repeated column that is not a feature passes through untouched; a repeated feature is
    // ambiguous, and guessing which copy the model should see could score every row wrongly.
    if (first !== undefined && features.includes(name)) {
      throw datasetError(
        'DuplicateColumn',
        `${where(file, 1)}: the feature column "${name}" appears twice (columns ${first + 1} and ${i + 1}). ` +
          'Drop or rename one of them.',
        { file, row: 1, column: name },
      );
    }
    if (first === undefined) index.set(name, i);
  });
  const missing = features.filter((f) => !index.has(f));
  if (missing.length > 0) {
    throw new ScoringError(
      'MissingFeatureColumn',
      `${file} lacks the model's feature${missing.length === 1 ? '' : 's'} ${missing.join(', ')}.` +
        `${didYouMean(missing, [...index.keys()])} ` +
        `The model needs ${features.join(', ')}; the file has ${header.join(', ')}. ` +
        'Column order does not matter, but names must match exactly (case included).',
      { missing, header },
    );
  }
  for (const name of [added.predicted, added.probability, ...(added.explanation ?? [])]) {
    if (index.has(name)) {
      throw new ScoringError(
        'OutputColumnClash',
        `${file} already has a column "${name}", which scoring adds. Rename or drop it first ` +
          '(it may be the output of an earlier run).',
        { column: name },
      );
    }
  }
  return features.map((f) => index.get(f) as number);
}
