import { TypedError } from '../errors';

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
export class OnnxExportError extends TypedError<OnnxExportErrorType> {}

/** Which engine the gate found wrong: onnxruntime alone, or the two engines against each other. */
export type ParityEngine = 'onnxruntime' | 'both';

/** The figures behind a failed parity gate, so a caller can report them without parsing text. */
export interface ParityFailure {
  engine: ParityEngine;
  /** `bound`: a logit left its float32 bound; `label`: a label differs where it may not. */
  check: 'bound' | 'label';
  /** Index into the rows compared (the held-out split), 0-based. */
  worstRow: number;
  /** The error at that row as a fraction of what was allowed (above 1 fails). */
  boundUsed: number;
  /** The exact (float64) logit at that row, and the float32 rounding bound around it. */
  exactLogit: number;
  logitBound: number;
  onnxValue: number;
  tfjsValue: number;
  rowsCompared: number;
  maxAbsDiff: number;
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
