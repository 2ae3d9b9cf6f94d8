/**
 * The one base of Slipway's domain errors. `type` is stable: activities turn it into the
 * ApplicationFailure type (activities/failures.ts), the CLI prints it and picks the exit code by it,
 * tests and docs match on it. `retryable` says whether a retry could help: only faults that go away
 * on their own (a network blip, a 5xx, contention) are; bad input and damaged documents need a person.
 */
export abstract class DomainError extends Error {
  // Declared, not abstract, so a family's kinds made by errorKind (below) count as implementing them.
  declare readonly type: string;
  declare readonly retryable: boolean;
}

/** A constructor of errors of family F, taking the message (and a cause) as Error does. */
export type ErrorClass<F extends DomainError> = new (message: string, options?: ErrorOptions) => F;

/**
 * One kind of error in a family that gives each kind its own class (caught by `instanceof`):
 * `class AliasConflictError extends errorKind(RegistryError, 'AliasConflict') {}`. Its `name` is
 * the type plus "Error" unless given; it is not retryable unless said. A kind with more to say adds
 * its own constructor and fields.
 */
export function errorKind<F extends DomainError>(
  family: abstract new (message: string, options?: ErrorOptions) => F,
  type: string,
  options: { name?: string; retryable?: boolean } = {},
): ErrorClass<F> {
  const { name = `${type}Error`, retryable = false } = options;
  // A concrete subclass of the abstract family: the family only marks membership.
  const Family = family as unknown as new (message: string, options?: ErrorOptions) => DomainError;
  const Kind = class extends Family {
    override name = name;
    override readonly type = type;
    override readonly retryable: boolean = retryable;
  };
  return Kind as unknown as ErrorClass<F>;
}

/**
 * A family of problems told apart by `type` rather than by class, none worth retrying (the same
 * input fails the same way). `name` is the type unless the family gives its own.
 */
export class TypedError<T extends string, D = Record<string, unknown>> extends DomainError {
  override readonly retryable = false;
  constructor(
    override readonly type: T,
    message: string,
    readonly details?: D,
    name: string = type,
  ) {
    super(message);
    this.name = name;
  }
}
