import { type ArtifactKind, type ArtifactRef, artifactKinds, artifactRefSchema } from './artifactRef';
import { ArtifactOutsideStoreError, InvalidArtifactRefError, InvalidStoreKeyError } from './errors';

/**
 * Layout of a store (the same under a local directory and under an S3 prefix):
 *
 *   <kind>/sha256/<64 hex digits><extension>   immutable artifacts, keyed by their content
 *   <other/keys>                               mutable documents written by putDocument
 *   .tmp/                                      local store only: writes in progress, never listed
 *
 * Kind first keeps one kind's objects together for listing and lifecycle rules; the extension
 * is cosmetic (a human browsing the bucket sees ".onnx") but part of the key, so the same bytes
 * stored as two kinds or extensions are two objects.
 *
 * Keys are restricted to a URL-safe character set so `location + "/" + key` is a valid URI
 * without escaping and means the same thing on every backend.
 */
const SEGMENT = /^[A-Za-z0-9_@=+,~-][A-Za-z0-9._@=+,~-]*$/;
const PREFIX_CHARS = /^[A-Za-z0-9._@=+,~/-]*$/;
const EXTENSION = /^(\.[A-Za-z0-9]+)+$/;
const CONTENT_KEY = new RegExp(`^(${artifactKinds.join('|')})/sha256/[0-9a-f]{64}(\\.[A-Za-z0-9]+)*$`);
const MAX_KEY_LENGTH = 900;

/** The hidden folder where the local store keeps writes in progress. */
export const TEMP_DIR = '.tmp';

export function contentKey(kind: ArtifactKind, sha256: string, extension = ''): string {
  return `${kind}/sha256/${sha256}${normalizeExtension(extension)}`;
}

export function isContentKey(key: string): boolean {
  return CONTENT_KEY.test(key);
}

/** Accepts "arrow" or ".arrow" (or ".tar.gz"); returns "" or a dotted extension. */
export function normalizeExtension(extension: string | undefined): string {
  if (extension === undefined || extension === '') return '';
  const dotted = extension.startsWith('.') ? extension : `.${extension}`;
  if (!EXTENSION.test(dotted) || dotted.length > 24) {
    throw new InvalidStoreKeyError(
      `Invalid artifact extension "${extension}": use letters and digits after a dot, for example ".arrow" or ".tar.gz".`,
    );
  }
  return dotted;
}

/** Throws unless `key` is a relative key of safe segments (no "..", no leading "/" or ".", no "//"). */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) {
    throw new InvalidStoreKeyError(
      `Invalid store key "${key}": ${problem}. Keys are relative paths like "registry/fraud/versions/3.json" made ` +
        'of letters, digits and . _ - @ = + , ~ with no segment starting with a dot.',
    );
  }
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'it is empty';
  if (key.length > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} characters`;
  if (key.startsWith('/')) return 'it starts with "/"';
  if (key.endsWith('/')) return 'it ends with "/"';
  const bad = key.split('/').find((segment) => !SEGMENT.test(segment));
  if (bad !== undefined)
    return bad === '' ? 'it contains an empty segment' : `segment "${bad}" is not allowed`;
  return undefined;
}

/** A list prefix may end mid-segment or with "/", but may not escape the store or look into ".tmp". */
export function assertValidPrefix(prefix: string): void {
  const segments = prefix.split('/');
  const escapes = segments.some((s) => s === '..' || s === '.') || prefix.startsWith('/');
  if (!PREFIX_CHARS.test(prefix) || escapes || prefix.includes('//') || prefix.startsWith('.')) {
    throw new InvalidStoreKeyError(
      `Invalid list prefix "${prefix}": use a relative key prefix such as "dataset/" or "registry/fraud/".`,
    );
  }
}

/** Documents are mutable, so they may not take a content-addressed key, which must stay immutable. */
export function assertDocumentKey(key: string): void {
  assertValidKey(key);
  if (isContentKey(key)) {
    throw new InvalidStoreKeyError(
      `Key "${key}" is a content-addressed artifact key; documents may not overwrite or delete artifacts. ` +
        'Use put() for artifacts and a key outside "<kind>/sha256/" for documents.',
    );
  }
}

/** Only content-addressed keys may be deleted as artifacts (retention, domain/gc). */
export function assertArtifactKey(key: string): void {
  assertValidKey(key);
  if (!isContentKey(key)) {
    throw new InvalidStoreKeyError(
      `Key "${key}" is not a content-addressed artifact key ("<kind>/sha256/<hex>"); delete documents with deleteDocument.`,
    );
  }
}

/** The sha256 named by a content-addressed key, or undefined for any other key. */
export function sha256OfContentKey(key: string): string | undefined {
  return isContentKey(key) ? key.split('/')[2]?.slice(0, 64) : undefined;
}

export function assertKind(kind: string): asserts kind is ArtifactKind {
  if (!(artifactKinds as readonly string[]).includes(kind)) {
    throw new InvalidStoreKeyError(
      `Unknown artifact kind "${kind}"; expected one of ${artifactKinds.join(', ')}.`,
    );
  }
}

/** The store-relative key of a ref, after checking the ref is well formed and belongs to `location`. */
export function keyOfRef(location: string, ref: ArtifactRef): string {
  const parsed = artifactRefSchema.safeParse(ref);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'ref'}: ${i.message}`).join('; ');
    throw new InvalidArtifactRefError(`Invalid artifact reference ${JSON.stringify(ref)}: ${issues}.`);
  }
  if (!ref.uri.startsWith(`${location}/`)) throw new ArtifactOutsideStoreError(ref.uri, location);
  const key = ref.uri.slice(location.length + 1);
  assertValidKey(key);
  return key;
}
