import { didYouMean } from './didYouMean';
import { datasetError, where } from './errors';

/** Which columns of a CSV are read, in which order. */
export interface CsvLayout {
  /** Header names as found (trimmed), in file order. */
  header: string[];
  /** Feature names in snapshot order: the given list, or every column but the target in file order. */
  features: string[];
  target: string;
  /** Position in a record of each feature, in feature order. */
  featureIndex: number[];
  targetIndex: number;
}

const DELIMITERS: ReadonlyArray<readonly [string, string]> = [
  [';', '";"'],
  ['\t', 'tab'],
  ['|', '"|"'],
];
const LOOKS_NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function list(names: string[]): string {
  const shown = names.slice(0, 50).join(', ');
  return names.length > 50 ? `${shown}, ... (${names.length} in all)` : shown;
}

/**
 * Checks the header (row 1) against the target and the feature list. Slipway reads
 * comma-separated CSV only: a ';'- or tab-separated export is refused with the reason rather
 * than read with a guessed delimiter, because a wrong guess on a file that merely contains the
 * character would misread every row.
 */
export function planLayout(header: string[], file: string, target: string, features?: string[]): CsvLayout {
  const names = header.map((h) => h.trim());
  if (names.length === 1) {
    const only = names[0] ?? '';
    const found = DELIMITERS.find(([d]) => only.includes(d));
    if (found) {
      throw datasetError(
        'WrongDelimiter',
        `${where(file, 1)}: the header is a single column containing ${found[1]}, so the file looks ` +
          `${found[1]}-separated. Slipway reads comma-separated CSV: export the file with commas as separators.`,
        { file, row: 1 },
      );
    }
  }
  names.forEach((name, i) => {
    if (name === '') {
      throw datasetError(
        'EmptyColumnName',
        `${where(file, 1)}: column ${i + 1} of the header has no name. Give every column a name.`,
        { file, row: 1 },
      );
    }
  });
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw datasetError(
        'DuplicateColumn',
        `${where(file, 1, name)}: the column name appears twice (columns ${first + 1} and ${i + 1}). Rename one of them.`,
        { file, row: 1, column: name },
      );
    }
    seen.set(name, i);
  });
  const targetIndex = seen.get(target);
  if (targetIndex === undefined) {
    if (names.every((n) => LOOKS_NUMERIC.test(n))) {
      throw datasetError(
        'MissingHeader',
        `${where(file, 1)}: the first row (${list(names)}) looks like data, not column names. ` +
          `Add a header row naming the columns, with the target "${target}" among them.`,
        { file, row: 1 },
      );
    }
    throw datasetError(
      'MissingTargetColumn',
      `${where(file, 1)}: no target column "${target}".${didYouMean([target], names)} Columns found: ${list(names)}. ` +
        'Name the 0/1 label column with --target (names match exactly, case included).',
      { file, row: 1, column: target },
    );
  }
  const chosen = features ?? names.filter((n) => n !== target);
  const repeated = chosen.filter((f, i) => chosen.indexOf(f) !== i);
  if (repeated.length > 0) {
    throw datasetError(
      'DuplicateFeature',
      `The feature list names "${repeated[0]}" more than once. List each feature once.`,
      { file, column: repeated[0] },
    );
  }
  const unknown = chosen.filter((f) => !seen.has(f));
  if (unknown.length > 0) {
    throw datasetError(
      'UnknownFeature',
      `${where(file, 1)}: feature${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} ` +
        `not in the header.${didYouMean(unknown, names)} Columns found: ${list(names)}.`,
      { file, row: 1, column: unknown[0] },
    );
  }
  if (chosen.includes(target)) {
    throw datasetError(
      'UnknownFeature',
      `${where(file, 1, target)}: the target cannot also be a feature. Remove it from the feature list.`,
      { file, row: 1, column: target },
    );
  }
  if (chosen.length === 0) {
    throw datasetError(
      'NoFeatures',
      features
        ? 'The feature list is empty. Name at least one feature column, or leave the list out to use every column but the target.'
        : `${where(file, 1)}: the only column is the target "${target}"; there is nothing to learn from. Add feature columns.`,
      { file, row: 1 },
    );
  }
  return {
    header: names,
    features: chosen,
    target,
    featureIndex: chosen.map((f) => seen.get(f) as number),
    targetIndex,
  };
}
