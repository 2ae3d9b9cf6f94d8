export type AccessErrorType = 'AccessDenied' | 'InvalidAccessSettings';

/** Someone may not do what they asked, or asked for settings that cannot be. Never retryable. */
export class AccessError extends Error {
  readonly retryable = false;
  constructor(
    readonly type: AccessErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'AccessError';
  }
}
