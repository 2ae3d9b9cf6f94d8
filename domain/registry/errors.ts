import { DomainError, errorKind } from '../errors';

/**
 * Registry errors. Each has a stable `type` (activities turn it into an ApplicationFailure type)
 * and a `retryable` flag: only contention that outlasted the allocation loop is worth retrying;
 * everything else needs a person (a wrong name, a version that does not exist, a damaged document).
 */
export abstract class RegistryError extends DomainError {}

/** A model name the registry layout does not allow. */
export class InvalidModelNameError extends errorKind(RegistryError, 'InvalidModelName') {
  constructor(
    readonly modelName: string,
    problem: string,
  ) {
    super(
      `Invalid model name ${JSON.stringify(modelName)}: ${problem}. Model names are 1-128 characters of ` +
        'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (for example "fraud" or ' +
        '"card-fraud_v2"), optionally after a namespace and one "/" (for example "risk/card-fraud").',
    );
  }
}

/** A version number that cannot exist (not a positive integer, or past the layout's 8 digits). */
export class InvalidModelVersionError extends errorKind(RegistryError, 'InvalidModelVersion') {}

/** No version of this model has been registered. */
export class ModelNotFoundError extends errorKind(RegistryError, 'ModelNotFound') {
  constructor(
    readonly modelName: string,
    readonly location: string,
    readonly knownModels: readonly string[],
  ) {
    const shown = knownModels.slice(0, 20).map((m) => `"${m}"`);
    const more = knownModels.length > shown.length ? ` and ${knownModels.length - shown.length} more` : '';
    const known =
      knownModels.length === 0 ? 'the registry is empty' : `registered models: ${shown.join(', ')}${more}`;
    super(
      `No model "${modelName}" in the registry at ${location} (${known}). Check the name, or run a pipeline ` +
        `with --model ${modelName} to register its first version.`,
    );
  }
}

/** The model exists but not at this version. */
export class ModelVersionNotFoundError extends errorKind(RegistryError, 'ModelVersionNotFound') {
  constructor(
    readonly modelName: string,
    readonly version: number,
    readonly existingVersions: readonly number[],
  ) {
    super(
      `Model "${modelName}" has no version ${version}; ${describeVersions(existingVersions)} ` +
        `${existingVersions.length === 1 ? 'exists' : 'exist'}. ` +
        `Pick one of those, or use the latest (${existingVersions[existingVersions.length - 1]}).`,
    );
  }
}

/** A registry document read back does not parse or does not satisfy its schema. */
export class CorruptRegistryDocumentError extends errorKind(RegistryError, 'CorruptRegistryDocument') {
  constructor(
    readonly key: string,
    readonly location: string,
    problem: string,
  ) {
    super(
      `Registry document ${location}/${key} is damaged: ${problem}. It was changed outside Slipway or written ` +
        'by an incompatible version; restore it from a backup or remove that version.',
    );
  }
}

/** What a pipeline asked to register does not satisfy the metadata schema (a bug in the caller). */
export class InvalidModelVersionMetadataError extends errorKind(
  RegistryError,
  'InvalidModelVersionMetadata',
) {}

/** So many pipelines registered versions at once that this one never won a number; try again. */
export class RegistryContentionError extends errorKind(RegistryError, 'RegistryContention', {
  retryable: true,
}) {}

/** "versions 1..3, 5" or "version 4" for messages; `versions` sorted ascending. */
export function describeVersions(versions: readonly number[]): string {
  if (versions.length === 0) return 'no versions';
  const parts: string[] = [];
  let start = versions[0];
  let end = start;
  const flush = () =>
    parts.push(start === end ? `${start}` : end === start + 1 ? `${start}, ${end}` : `${start}..${end}`);
  for (const v of versions.slice(1)) {
    if (v === end + 1) {
      end = v;
      continue;
    }
    flush();
    start = v;
    end = v;
  }
  flush();
  return `${versions.length === 1 ? 'version' : 'versions'} ${parts.join(', ')}`;
}

/** An alias name the registry does not allow. */
export class InvalidAliasError extends errorKind(RegistryError, 'InvalidAlias') {}

/** The alias no longer points where the caller last saw it (someone else moved it meanwhile). */
export class AliasConflictError extends errorKind(RegistryError, 'AliasConflict') {}

/** A rollback asked of an alias that has no earlier version to go back to. */
export class NothingToRollBackError extends errorKind(RegistryError, 'NothingToRollBack') {}
