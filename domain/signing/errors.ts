import { TypedError } from '../errors';

export type SigningErrorType =
  /** A key file or key text that is not a key Slipway can use (with where and why). */
  | 'InvalidKey'
  /** A signature that does not verify, or a signature file that is not one. */
  | 'SignatureInvalid'
  /** A signature made with a key the policy does not list for that person or purpose. */
  | 'SignatureKeyNotRegistered'
  /** The policy asks for a signature and none was given. */
  | 'SignatureRequired'
  /** Several keys offered to sign (an SSH agent's) are registered for the person: which one is not said. */
  | 'SignerAmbiguous';

/** Keys and signatures: bad input or a refusal, never worth retrying. */
export class SigningError extends TypedError<SigningErrorType> {
  constructor(type: SigningErrorType, message: string) {
    super(type, message, undefined, 'SigningError');
  }
}
