import { DomainError, errorKind } from '../errors';

/**
 * Lineage errors, with a stable `type` and a `retryable` flag like every domain error. None is
 * worth retrying: a bad record is a bug in the caller, a missing or damaged document needs a person.
 */
export abstract class LineageError extends DomainError {}

/** A record to write does not satisfy the lineage schema (bad role, outputs on a failed run...). */
export class InvalidLineageRecordError extends errorKind(LineageError, 'InvalidLineageRecord') {}

/** Nothing is recorded for the model version or artifact asked about. */
export class LineageNotFoundError extends errorKind(LineageError, 'LineageNotFound') {}

/** A lineage document read back is not what the writer stores. */
export class CorruptLineageDocumentError extends errorKind(LineageError, 'CorruptLineageDocument') {
  constructor(
    readonly key: string,
    readonly location: string,
    problem: string,
  ) {
    super(
      `Lineage document ${key} in ${location} is damaged: ${problem}. Lineage is written by the pipeline's ` +
        'steps; re-run the pipeline that produced it, or remove the document and accept the gap.',
    );
  }
}
