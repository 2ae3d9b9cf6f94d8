import { TypedError } from '../errors';

/** A problem with training inputs or settings; never retryable, since a retry would meet it again. */
export class TrainingInputError extends TypedError<
  | 'SingleClass'
  | 'EmptySplit'
  | 'ShapeMismatch'
  | 'InvalidCheckpoint'
  | 'BackendUnavailable'
  | 'InvalidScores'
> {}
