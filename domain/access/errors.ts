import { TypedError } from '../errors';

export type AccessErrorType = 'AccessDenied' | 'InvalidAccessSettings';

/** Someone may not do what they asked, or asked for settings that cannot be. Never retryable. */
export class AccessError extends TypedError<AccessErrorType> {
  constructor(type: AccessErrorType, message: string) {
    super(type, message, undefined, 'AccessError');
  }
}
