export type OnnxExportErrorType =
  | 'ExportParityError'
  | 'ModelTooLarge'
  | 'OnnxStructureError'
  | 'UnsupportedOpset'
  | 'ModelSpecMismatch'
  | 'NonFiniteWeights'
  | 'InvalidExportInput'
  | 'ParityDataMismatch';

/**
 * Problems that stop an export. None is retryable: the same inputs give the same file, so a
 * retry would fail the same way. `type` is stable; activities turn it into the failure type.
 */
export class OnnxExportError extends Error {
  readonly retryable = false;
  constructor(
    readonly type: OnnxExportErrorType,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = type;
  }
}

/** The figures behind a failed parity gate, so a caller can report them without parsing text. */
export interface ParityFailure {
  maxAbsDiff: number;
  tolerance: number;
  relativeTolerance: number;
  /** Index into the rows compared (the held-out split), 0-based. */
  worstRow: number;
  onnxValue: number;
  tfjsValue: number;
  rowsCompared: number;
}

/** The file does not score like the model that was evaluated; it must not be shipped. */
export class ExportParityError extends OnnxExportError {
  constructor(
    message: string,
    readonly failure: ParityFailure,
  ) {
    super('ExportParityError', message, { ...failure });
  }
}

/** The file, once base64-encoded for upload, is over the platform's limit. */
export class ModelTooLargeError extends OnnxExportError {
  constructor(
    message: string,
    readonly bytes: number,
    readonly base64Bytes: number,
    readonly limitBytes: number,
  ) {
    super('ModelTooLarge', message, { bytes, base64Bytes, limitBytes });
  }
}
