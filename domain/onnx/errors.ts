/** Problems that stop an export; none is retryable, since the same inputs give the same file. */
export class OnnxExportError extends Error {
  readonly retryable = false;
  constructor(
    readonly type:
      | 'ExportParityError'
      | 'ModelTooLarge'
      | 'OnnxStructureError'
      | 'UnsupportedOpset'
      | 'ModelSpecMismatch',
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = type;
  }
}
