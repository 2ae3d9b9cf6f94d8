/**
 * Everything that can be wrong with a data set. Each error names the problem (a stable `type`),
 * where it is (file, row as an editor shows it with the header on row 1, column), and what to do.
 * None is retryable: reading the same bad file again gives the same answer.
 */
export class DatasetError extends Error {
  readonly retryable = false;
  constructor(
    readonly type: string,
    message: string,
    readonly details?: { file?: string; row?: number; column?: string },
  ) {
    super(message);
    this.name = type;
  }
}

/** "data.csv, row 12, column Amount" (only the parts that are known). */
export function where(file: string, row?: number, column?: string): string {
  return [
    file,
    row === undefined ? undefined : `row ${row}`,
    column === undefined ? undefined : `column "${column}"`,
  ]
    .filter(Boolean)
    .join(', ');
}

export const datasetErrorTypes = [
  'InvalidSource',
  'SourceNotFound',
  'SourceTooLarge',
  'EmptyFile',
  'NoDataRows',
  'DuplicateColumn',
  'EmptyColumnName',
  'WrongDelimiter',
  'MissingTargetColumn',
  'UnknownFeature',
  'TooManyColumns',
  'RaggedRow',
  'EmptyValue',
  'NonNumericValue',
  'NonFiniteValue',
  'TargetNotBinary',
  'TooFewRowsOfClass',
  'MalformedCsv',
  'CorruptSnapshot',
] as const;
export type DatasetErrorType = (typeof datasetErrorTypes)[number];

export function datasetError(
  type: DatasetErrorType,
  message: string,
  details?: { file?: string; row?: number; column?: string },
): DatasetError {
  return new DatasetError(type, message, details);
}
