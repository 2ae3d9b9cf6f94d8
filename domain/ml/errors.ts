/** A problem with training inputs or settings; never retryable, since a retry would meet it again. */
export class TrainingInputError extends Error {
  readonly retryable = false;
  constructor(
    readonly type:
      | 'SingleClass'
      | 'EmptySplit'
      | 'ShapeMismatch'
      | 'InvalidCheckpoint'
      | 'BackendUnavailable'
      | 'InvalidScores',
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}
