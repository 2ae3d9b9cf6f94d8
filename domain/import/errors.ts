import { TypedError } from '../errors';

export type OnnxImportErrorType =
  | 'UnparseableOnnx'
  | 'OnnxLoadFailed'
  | 'UnsupportedOpset'
  | 'FeatureCountMismatch'
  | 'FeatureOrderMismatch'
  | 'ModelInputMismatch'
  | 'UnsupportedModelOutput'
  | 'ModelTooLarge'
  | 'InvalidImportInput'
  | 'ReferenceMismatch';

/**
 * Why a file handed over from elsewhere cannot be imported. Never retryable: the same bytes fail
 * the same way. Raised before anything is stored or registered.
 */
export class OnnxImportError extends TypedError<OnnxImportErrorType> {
  constructor(type: OnnxImportErrorType, message: string, details?: Record<string, unknown>) {
    super(type, message, details, 'OnnxImportError');
  }
}
