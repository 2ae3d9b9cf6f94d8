import type { Readable } from 'node:stream';
import type { ArtifactKind, ArtifactRef } from './artifactRef';

/** The body of a put: bytes in memory, a stream, or a local file read as a stream. */
export type ArtifactBody = Buffer | Uint8Array | string | Readable | { filePath: string };

export interface PutOptions {
  kind: ArtifactKind;
  mediaType: string;
  /** File extension for the stored key, e.g. ".arrow"; purely cosmetic, the key is the hash. */
  extension?: string;
}

export interface ObjectInfo {
  key: string;
  bytes: number;
  /**
   * When the object was last written (ISO 8601), where the listing says: retention (domain/gc) keeps
   * anything younger than its grace period. A put of bytes already stored sets it to now, as if
   * it had written them (ContentAddressedStore.reuseStored says why).
   */
  modified?: string;
}

/**
 * One interface over object storage. Content-addressed puts mean a retried activity never
 * writes a second copy; reads verify the checksum; a failed write leaves nothing visible.
 */
export interface ArtifactStore {
  /** file:///abs/dir or s3://bucket/prefix, as configured. */
  readonly location: string;
  /**
   * Stores the body under a key derived from its sha256; storing the same bytes twice writes them
   * once (the second put only refreshes the object's modification time).
   */
  put(body: ArtifactBody, options: PutOptions): Promise<ArtifactRef>;
  /** Streams the object; the stream errors with ChecksumMismatchError if the bytes do not match. */
  get(ref: ArtifactRef): Promise<Readable>;
  /** Reads the whole object into memory, verified. */
  getBytes(ref: ArtifactRef): Promise<Buffer>;
  /** Downloads the object to a local file, verified, and returns that path. */
  getToFile(ref: ArtifactRef, filePath: string): Promise<string>;
  exists(ref: ArtifactRef): Promise<boolean>;
  /** Size and modification time of the object at a store-relative key, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Store-relative keys under a prefix, sorted. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /**
   * Mutable documents (registry entries, aliases, lineage) at a store-relative key.
   * `ifAbsent: true` creates atomically and returns false if the key already exists, which is
   * what makes registry version numbers unique under concurrency.
   */
  putDocument(
    key: string,
    body: Buffer | string,
    options?: { ifAbsent?: boolean; mediaType?: string },
  ): Promise<boolean>;
  getDocument(key: string): Promise<Buffer | undefined>;
  deleteDocument(key: string): Promise<void>;
  /**
   * Removes a content-addressed artifact (absent is fine). Only retention calls this
   * (domain/gc), after deciding from the registry, lineage, the audit log and the step cache that
   * nothing needs the object; documents go through deleteDocument. On a versioned bucket every
   * version written before `writtenBefore` (default: all) goes, so the bytes are freed; a newer one
   * (the same bytes stored again meanwhile) stays.
   */
  deleteArtifact(key: string, options?: { writtenBefore?: string }): Promise<void>;
  /**
   * Older versions a versioned bucket keeps of artifacts under `prefix` that are still stored:
   * the same bytes as the current version (the key is their sha256), left by a put that refreshed
   * them (ContentAddressedStore.reuseStored). Empty for a local directory or an unversioned bucket.
   */
  noncurrentVersions(prefix: string): Promise<ObjectVersion[]>;
  /** Removes versions noncurrentVersions listed, for good, each by its version id. */
  deleteVersions(versions: readonly ObjectVersion[]): Promise<void>;
}

/** One non-current version of an artifact in a versioned bucket. */
export interface ObjectVersion {
  key: string;
  versionId: string;
  bytes: number;
  modified?: string;
}
