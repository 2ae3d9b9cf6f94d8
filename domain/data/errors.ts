import { TypedError } from '../errors';

/**
 * Everything that can be wrong with a data set. Each error names the problem (a stable `type`),
 * where it is (file, row as an editor shows it with the header on row 1, column), and what to do.
 * None is retryable: reading the same bad file again gives the same answer.
 */
export const datasetErrorTypes = [
  /** The source string is not a path, file://, s3://bucket/key or synthetic:fraud?rows=N&seed=S. */
  'InvalidSource',
  /** The file or object does not exist. */
  'SourceNotFound',
  /** More bytes than limits.maxBytes. */
  'SourceTooLarge',
  /** No header row at all (0 bytes, or only blank lines). */
  'EmptyFile',
  /** A header but no data rows. */
  'NoDataRows',
  /** The first row looks like data (every cell a number): the file has no header row. */
  'MissingHeader',
  /** Two header cells with the same name. */
  'DuplicateColumn',
  /** A header cell with no name. */
  'EmptyColumnName',
  /** The header is one column containing ';', tab or '|': not comma-separated. */
  'WrongDelimiter',
  /** The target column is not in the header. */
  'MissingTargetColumn',
  /** The feature list names a column the header does not have, or names the target. */
  'UnknownFeature',
  /** The feature list names a column twice. */
  'DuplicateFeature',
  /** No feature columns (an empty feature list, or a file with the target column only). */
  'NoFeatures',
  /** More header columns than limits.maxColumns. */
  'TooManyColumns',
  /** A data row with a different number of fields than the header. */
  'RaggedRow',
  /** An empty cell (missing value). */
  'EmptyValue',
  /** Text in a feature column. */
  'NonNumericValue',
  /** A categorical column with more than MAX_CATEGORIES distinct values (an identifier, not a category). */
  'TooManyCategories',
  /** NaN, Inf, -Inf, or a number too large for a 64-bit float. */
  'NonFiniteValue',
  /** A finite number beyond the float32 range (|x| > 3.4e38) that the snapshot would store as Inf. */
  'ValueOutOfRange',
  /** A target value that is not 0/1 (or true/false). */
  'TargetNotBinary',
  /** Fewer than 2 rows of one class (including a one-class file). */
  'TooFewRowsOfClass',
  /** The CSV itself cannot be parsed (an unclosed quote, text after a closing quote). */
  'MalformedCsv',
  /** A stored snapshot that is not a Slipway Arrow snapshot. */
  'CorruptSnapshot',
] as const;
export type DatasetErrorType = (typeof datasetErrorTypes)[number];

export interface DatasetErrorDetails {
  file?: string;
  /** 1-based line number as an editor shows it, the header on row 1. */
  row?: number;
  column?: string;
}

export class DatasetError extends TypedError<DatasetErrorType, DatasetErrorDetails> {}

/** "data.csv, row 12, column "Amount"" (only the parts that are known). */
export function where(file: string, row?: number, column?: string): string {
  return [
    file,
    row === undefined ? undefined : `row ${row}`,
    column === undefined ? undefined : `column "${column}"`,
  ]
    .filter(Boolean)
    .join(', ');
}

export function datasetError(
  type: DatasetErrorType,
  message: string,
  details?: DatasetErrorDetails,
): DatasetError {
  return new DatasetError(type, message, details);
}
