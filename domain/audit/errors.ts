import { DomainError, errorKind } from '../errors';

/**
 * Audit log errors. Each has a stable `type` (activities turn it into an ApplicationFailure type)
 * and a `retryable` flag: only contention that outlasted the append loop is worth retrying;
 * a bad entry or a damaged log needs a person.
 */
export abstract class AuditError extends DomainError {}

/** The entry to append is not a valid audit record (missing actor, bad time, non-JSON details...). */
export class InvalidAuditEntryError extends errorKind(AuditError, 'InvalidAuditEntry') {}

/**
 * The record an append must chain onto cannot be read as an audit record, so no honest prevHash
 * exists. Appending stops rather than forking the chain; `slipway audit verify` says what is wrong.
 */
export class AuditLogCorruptError extends errorKind(AuditError, 'AuditLogCorrupt') {
  constructor(
    readonly key: string,
    readonly location: string,
    problem: string,
  ) {
    super(
      `The audit log at ${location} is damaged: ${key} ${problem}. New records cannot be chained onto it. ` +
        'Run `slipway audit verify` to see every broken link, and restore the record from a backup.',
    );
  }
}

/** Every sequence number tried was taken by concurrent appends; the append is worth retrying. */
export class AuditContentionError extends errorKind(AuditError, 'AuditContention', { retryable: true }) {}
