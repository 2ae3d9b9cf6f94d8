import { DomainError, errorKind } from '../errors';

/**
 * Storage errors. Each has a stable `type` (activities turn it into an ApplicationFailure type)
 * and a `retryable` flag: faults that go away on their own (network, 5xx, a restarting server)
 * are retryable; faults that need a person (missing bucket, bad credentials, corrupt bytes) are not.
 */
export abstract class StorageError extends DomainError {}

export interface Digest {
  sha256: string;
  bytes: number;
}

/** The bytes read back do not match the reference: the stored object was changed or damaged. */
export class ChecksumMismatchError extends errorKind(StorageError, 'ChecksumMismatch') {
  /** `found.sha256` is undefined when the size alone already proved the mismatch. */
  constructor(
    readonly uri: string,
    readonly expected: Digest,
    readonly found: { sha256: string | undefined; bytes: number },
  ) {
    const foundText =
      found.sha256 === undefined ? `${found.bytes} bytes` : `sha256 ${found.sha256} and ${found.bytes} bytes`;
    super(
      `Artifact ${uri} failed verification: expected sha256 ${expected.sha256} and ${expected.bytes} bytes, ` +
        `found ${foundText}. The stored object was changed or damaged after it was written; re-run the step ` +
        'that produced it.',
    );
  }
}

/** The reference points at an object that is not in the store. */
export class ArtifactNotFoundError extends errorKind(StorageError, 'ArtifactNotFound') {
  constructor(readonly uri: string) {
    super(
      `Artifact ${uri} does not exist. It was deleted, or the reference comes from another store ` +
        '(check SLIPWAY_ARTIFACTS); re-run the step that produced it.',
    );
  }
}

/** The reference's URI is not inside this store's location. */
export class ArtifactOutsideStoreError extends errorKind(StorageError, 'ArtifactOutsideStore') {
  constructor(
    readonly uri: string,
    readonly location: string,
  ) {
    super(
      `Artifact ${uri} is not in the configured store ${location}. References are only valid in the store ` +
        'that wrote them: point SLIPWAY_ARTIFACTS at that store, or re-run the step that produced it.',
    );
  }
}

/** A value that does not satisfy the ArtifactRef schema (a bug or a damaged history payload). */
export class InvalidArtifactRefError extends errorKind(StorageError, 'InvalidArtifactRef') {}

/** A store-relative key, extension or URI that the layout does not allow. */
export class InvalidStoreKeyError extends errorKind(StorageError, 'InvalidStoreKey') {}

/** s3:// or file:// location that cannot be used, or S3 settings that are missing. */
export class StorageConfigError extends errorKind(StorageError, 'StorageConfigInvalid', {
  name: 'StorageConfigError',
}) {}

/** The file being stored changed between hashing and upload, so its key would lie about its bytes. */
export class SourceChangedError extends errorKind(StorageError, 'SourceChangedDuringPut', {
  name: 'SourceChangedError',
  retryable: true,
}) {
  constructor(
    readonly source: string,
    readonly expected: Digest,
    readonly found: Digest,
  ) {
    super(
      `${source} changed while it was being stored (hashed ${expected.sha256}/${expected.bytes} bytes, then ` +
        `uploaded ${found.sha256}/${found.bytes} bytes); nothing was stored. Do not modify a file while it is stored.`,
    );
  }
}

/** The local artifact directory cannot be written (permissions, read-only or full file system). */
export class LocalStoreAccessError extends errorKind(StorageError, 'LocalStoreAccess') {
  constructor(
    readonly path: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    const why: Record<string, string> = {
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EROFS: 'the file system is read-only',
      ENOSPC: 'the disk is full',
      EDQUOT: 'the disk quota is exceeded',
    };
    super(
      `Cannot write artifact storage at ${path}: ${why[code] ?? code}. Fix the directory or point ` +
        'SLIPWAY_ARTIFACTS at a writable one.',
      options,
    );
  }
}

/** The bucket named in SLIPWAY_ARTIFACTS (or a source URI) does not exist on the server. */
export class S3BucketNotFoundError extends errorKind(StorageError, 'S3BucketNotFound') {
  /** `source`: the s3:// URI a person gave (a data set, a model file), when it is not the artifact store. */
  constructor(
    readonly bucket: string,
    readonly endpoint: string,
    options?: ErrorOptions & { source?: string },
  ) {
    super(
      options?.source
        ? // The bucket came from the URI the person typed, so that is what to fix, not SLIPWAY_ARTIFACTS.
          `${options.source}: bucket "${bucket}" does not exist on ${endpoint}. Check the bucket name in the URI ` +
            '(and that SLIPWAY_S3_ENDPOINT is the S3 server that holds it).'
        : `Bucket "${bucket}" does not exist on ${endpoint}. Create it (for example \`mc mb <alias>/${bucket}\`), ` +
            'or point SLIPWAY_ARTIFACTS at an existing bucket (and check that SLIPWAY_S3_ENDPOINT is the S3 server).',
      options,
    );
  }
}

/** The server rejected the credentials, or they may not use this bucket. */
export class S3AccessDeniedError extends errorKind(StorageError, 'S3AccessDenied') {
  constructor(
    readonly endpoint: string,
    readonly bucket: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(
      `${endpoint} refused access to bucket "${bucket}" (${code}). Check SLIPWAY_S3_ACCESS_KEY and ` +
        'SLIPWAY_S3_SECRET_KEY (with SLIPWAY_S3_SESSION_TOKEN for temporary keys; or the AWS_* credentials ' +
        'they fall back to) and SLIPWAY_S3_REGION, and that this user may read and write the bucket.',
      options,
    );
  }
}

/** The object named by an s3:// URI (for example a data source) does not exist. */
export class S3ObjectNotFoundError extends errorKind(StorageError, 'S3ObjectNotFound') {
  constructor(
    readonly uri: string,
    readonly endpoint: string,
    options?: ErrorOptions,
  ) {
    super(`No object at ${uri} on ${endpoint}. Check the path and the bucket's contents.`, options);
  }
}

/** The endpoint cannot be reached: refused, reset, timed out, or its host name does not resolve. */
export class S3UnreachableError extends errorKind(StorageError, 'S3Unreachable') {
  constructor(
    readonly endpoint: string,
    readonly code: string,
    override readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot reach S3 endpoint ${endpoint} (${code}). Check SLIPWAY_S3_ENDPOINT and that the server is running` +
        (retryable ? '; the call will be retried.' : '.'),
      options,
    );
  }
}

/**
 * The TLS handshake with the endpoint failed: its certificate is not signed by a trusted CA, has
 * expired or names another host, or the endpoint does not speak TLS. A setting to fix, never retried.
 */
export class S3TlsError extends errorKind(StorageError, 'S3TlsRefused') {
  constructor(
    readonly endpoint: string,
    readonly code: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`TLS with S3 endpoint ${endpoint} failed (${code}): ${s3TlsAdvice(code, detail)}`, options);
  }
}

function s3TlsAdvice(code: string, detail: string): string {
  if (code === 'CERT_HAS_EXPIRED') return "the server's certificate has expired: renew it on the server.";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the server's certificate does not name the host of SLIPWAY_S3_ENDPOINT (${detail}): use a host name the certificate names.`;
  if (code === 'EPROTO')
    return `the endpoint does not speak TLS as expected (${detail}): use http:// in SLIPWAY_S3_ENDPOINT if the store has no TLS.`;
  return (
    "the server's certificate is not signed by a CA this client trusts: set SLIPWAY_S3_CA to the PEM file of the CA " +
    'that issued it (when SLIPWAY_S3_CA is set, only the CAs in that file are trusted).'
  );
}

/** The server answered with a transient failure (5xx, throttling, timeout): worth retrying. */
export class S3ServerError extends errorKind(StorageError, 'S3ServerError', {
  name: 'S3ServerError',
  retryable: true,
}) {
  constructor(
    readonly endpoint: string,
    readonly code: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `S3 endpoint ${endpoint} failed transiently (${code}): ${detail}. The call will be retried.`,
      options,
    );
  }
}

/** Any other request the server rejected; retrying the same request will not help. */
export class S3RequestError extends errorKind(StorageError, 'S3RequestRejected', { name: 'S3RequestError' }) {
  constructor(
    readonly endpoint: string,
    readonly code: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`S3 endpoint ${endpoint} rejected the request (${code}): ${detail}`, options);
  }
}
