/** Problems with a file to score or the model asked to score it; never worth retrying. */
export class ScoringError extends Error {
  override name = 'ScoringError';
  readonly retryable = false;
  constructor(
    readonly type: 'MissingFeatureColumn' | 'OutputColumnClash' | 'UnknownModelOutput' | 'ModelInputMismatch',
    message: string,
  ) {
    super(message);
  }
}
