import { createHash } from 'node:crypto';
import { InvalidModelVersionError } from './errors';
import { modelNameOfPath, modelPath } from './modelName';

/**
 * Where the registry keeps its documents in the artifact store (the same keys under a local
 * directory and under an S3 prefix):
 *
 *   registry/models/<name>/versions/<NNNNNNNN>.json   metadata of one version: the commit point.
 *                                                     Created with putDocument(ifAbsent), never
 *                                                     rewritten; a version exists iff this exists.
 *   registry/models/<name>/cards/<NNNNNNNN>.md        copy of the model card for people browsing the
 *                                                     bucket, written after the commit. Readers
 *                                                     ignore a card whose version document is absent.
 *   registry/models/<name>/runs/<K>/<NNNNNNNN>.json   claim markers: "the registration with idempotency
 *                                                     key hash K tried number N", written before trying
 *                                                     N. A claim proves nothing by itself; the version
 *                                                     document's registration.idempotencyKey decides.
 *   registry/models/<name>/reviews/<NNNNNNNN>.json    a person's decision on the version (or the deadline's),
 *                                                     created ifAbsent: one decision per version.
 *   registry/models/<name>/signatures/<NNNNNNNN>.sig.json  the version's signature (versionSignature.ts),
 *                                                     created ifAbsent at registration, never rewritten.
 *   registry/models/<name>/aliases/<NNNNNNNN>.json    the alias log: one entry per move of any alias
 *                                                     (promote, rollback, set), numbered like versions
 *                                                     and created ifAbsent, never rewritten. Where an
 *                                                     alias points is the replay of its entries (see
 *                                                     aliases.ts), so two concurrent moves both land.
 *   registry/models/<name>/services/<instance>.json  a running scoring service that follows an alias of
 *                                                     the model (domain/serving/fleet.ts): where to tell
 *                                                     it of a move. Rewritten as its lease is renewed,
 *                                                     deleted when it stops; an expired one is ignored.
 *   model-card/sha256/<hex>.md                        the card itself, content-addressed, stored before
 *                                                     the commit and referenced from the metadata.
 *
 * Versions are zero-padded to 8 digits so the store's sorted listing is numeric order.
 * A model in a namespace (`<ns>/<model>`) keeps the same documents under
 * registry/namespaces/<ns>/models/<model>/ (see modelPath); this layout is the default namespace's.
 */
export const REGISTRY_PREFIX = 'registry/';
export const MAX_VERSION = 99_999_999;
const VERSION_DIGITS = 8;

export function assertVersionNumber(version: number): void {
  if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    throw new InvalidModelVersionError(
      `Invalid model version ${JSON.stringify(version)}: versions are whole numbers from 1 to ${MAX_VERSION}.`,
    );
  }
}

export function padVersion(version: number): string {
  assertVersionNumber(version);
  return String(version).padStart(VERSION_DIGITS, '0');
}

export function modelPrefix(name: string): string {
  return `${REGISTRY_PREFIX}${modelPath(name)}/`;
}

export function versionsPrefix(name: string): string {
  return `${modelPrefix(name)}versions/`;
}

export function versionKey(name: string, version: number): string {
  return `${versionsPrefix(name)}${padVersion(version)}.json`;
}

export function cardKey(name: string, version: number): string {
  return `${modelPrefix(name)}cards/${padVersion(version)}.md`;
}

export function reviewKey(name: string, version: number): string {
  return `${modelPrefix(name)}reviews/${padVersion(version)}.json`;
}

/** The version's model signature (an OpenSSF model-signing bundle), created ifAbsent at registration. */
export function signatureKey(name: string, version: number): string {
  return `${modelPrefix(name)}signatures/${padVersion(version)}.sig.json`;
}

export function aliasLogPrefix(name: string): string {
  return `${modelPrefix(name)}aliases/`;
}

/** Where the running scoring services of a model register themselves (domain/serving/fleet.ts). */
export function servicesPrefix(name: string): string {
  return `${modelPrefix(name)}services/`;
}

export function serviceKey(name: string, instance: string): string {
  return `${servicesPrefix(name)}${instance}.json`;
}

export function aliasEntryKey(name: string, seq: number): string {
  return `${aliasLogPrefix(name)}${padVersion(seq)}.json`;
}

/** Idempotency keys are free text (workflow IDs may hold any character), so their hash names the folder. */
export function idempotencyKeyHash(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 32);
}

export function claimsPrefix(name: string, idempotencyKey: string): string {
  return `${modelPrefix(name)}runs/${idempotencyKeyHash(idempotencyKey)}/`;
}

export function claimKey(name: string, idempotencyKey: string, version: number): string {
  return `${claimsPrefix(name, idempotencyKey)}${padVersion(version)}.json`;
}

const VERSION_FILE = /^(\d{8})\.(json|md)$/;

/** The version number in the last segment of a versions/, cards/ or runs/ key, if it has that shape. */
export function versionOfKey(key: string, extension: 'json' | 'md' = 'json'): number | undefined {
  const match = VERSION_FILE.exec(key.slice(key.lastIndexOf('/') + 1));
  if (!match || match[2] !== extension) return undefined;
  const version = Number(match[1]);
  return version >= 1 ? version : undefined;
}

const VERSION_DOC = /^registry\/((?:namespaces\/[^/]+\/)?models\/[^/]+)\/versions\/(\d{8})\.json$/;

/** (name, version) of a metadata document key, or undefined for any other key. */
export function parseVersionKey(key: string): { name: string; version: number } | undefined {
  const match = VERSION_DOC.exec(key);
  const name = match ? modelNameOfPath(match[1] as string) : undefined;
  if (!match || name === undefined) return undefined;
  const version = Number(match[2]);
  return version >= 1 ? { name, version } : undefined;
}

/** Who may see a model (domain/access): rewritten when an admin changes it, each change audited. */
export function sharingKey(name: string): string {
  return `${modelPrefix(name)}sharing.json`;
}

/** A namespace's policy: beside its models, never inside one. */
export function namespacePolicyKey(namespace: string): string {
  return `${REGISTRY_PREFIX}namespaces/${namespace}/policy.json`;
}
