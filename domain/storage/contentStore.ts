import type { Readable } from 'node:stream';
import type { ArtifactRef } from './artifactRef';
import type { ArtifactBody, ArtifactStore, ObjectInfo, ObjectVersion, PutOptions } from './artifactStore';
import { type NormalizedBody, normalizeBody } from './body';
import { readAll, streamToFileAtomically } from './fileIo';
import { assertArtifactKey, assertDocumentKey, assertKind, normalizeExtension } from './keys';

type DocumentOptions = { ifAbsent?: boolean; mediaType?: string };

/** What a put knows of the bytes it found already stored (the S3 store rewrites their metadata). */
export interface StoredBytes {
  sha256: string;
  bytes: number;
  mediaType: string;
}

/** Sorts listed objects by key, in code-unit order on every platform. */
export function byKey(a: ObjectInfo, b: ObjectInfo): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * What every content-addressed store does the same way, whatever holds the bytes: check and
 * normalise a put's settings and body, release the caller's stream when a put fails, and read
 * whole objects or objects to files through `get` (which verifies).
 */
export abstract class ContentAddressedStore implements ArtifactStore {
  abstract readonly location: string;

  async put(body: ArtifactBody, options: PutOptions): Promise<ArtifactRef> {
    const normalized = normalizeBody(body);
    try {
      assertKind(options.kind);
      return await this.putNormalized(normalized, options, normalizeExtension(options.extension));
    } catch (error) {
      // Whatever failed, the caller's stream will not be read any further: release it.
      if (normalized.type === 'stream' && !normalized.stream.destroyed) normalized.stream.destroy();
      throw error;
    }
  }

  /**
   * Whether an object of `bytes` bytes is already at the content-addressed `key` (the same bytes:
   * the key is their sha256), making the put a no-op but for one thing: the object is marked as
   * written now. Retention (domain/gc) deletes an unneeded object only once it is older than its
   * grace period, by this time; a step that stores bytes identical to an old unneeded object has not
   * yet recorded in lineage that it needs them, and without the refresh a `gc` running meanwhile
   * could delete them under it. Every store's put goes through here when it finds its bytes stored.
   * False when nothing is there, the object there is damaged (another size: the caller replaces
   * it), or it went before it could be refreshed (the caller writes it again).
   */
  protected async reuseStored(key: string, stored: StoredBytes): Promise<boolean> {
    if ((await this.head(key))?.bytes !== stored.bytes) return false;
    return this.markWritten(key, stored);
  }

  /** Sets the object's modification time to now, its bytes untouched; false when it is gone. */
  protected abstract markWritten(key: string, stored: StoredBytes): Promise<boolean>;

  /** Stores a checked, normalised body; `extension` is already normalised. */
  protected abstract putNormalized(
    normalized: NormalizedBody,
    options: PutOptions,
    extension: string,
  ): Promise<ArtifactRef>;

  async getBytes(ref: ArtifactRef): Promise<Buffer> {
    return readAll(await this.get(ref));
  }

  async getToFile(ref: ArtifactRef, filePath: string): Promise<string> {
    return streamToFileAtomically(await this.get(ref), filePath);
  }

  abstract get(ref: ArtifactRef): Promise<Readable>;
  abstract exists(ref: ArtifactRef): Promise<boolean>;
  abstract head(key: string): Promise<ObjectInfo | undefined>;
  abstract list(prefix: string): Promise<ObjectInfo[]>;

  async putDocument(key: string, body: Buffer | string, options: DocumentOptions = {}): Promise<boolean> {
    assertDocumentKey(key);
    return this.writeDocument(key, typeof body === 'string' ? Buffer.from(body, 'utf8') : body, options);
  }

  /** Writes a document at a checked key; with `ifAbsent`, only if none is there (false if one was). */
  protected abstract writeDocument(key: string, data: Buffer, options: DocumentOptions): Promise<boolean>;

  abstract getDocument(key: string): Promise<Buffer | undefined>;
  abstract deleteDocument(key: string): Promise<void>;

  async deleteArtifact(key: string, _options: { writtenBefore?: string } = {}): Promise<void> {
    assertArtifactKey(key);
    await this.removeObject(key);
  }

  /** A store without versions keeps no older copies (the S3 store overrides this for versioned buckets). */
  async noncurrentVersions(_prefix: string): Promise<ObjectVersion[]> {
    return [];
  }

  async deleteVersions(versions: readonly ObjectVersion[]): Promise<void> {
    if (versions.length > 0) throw new Error(`${this.location} keeps no versions to delete`);
  }

  /** Removes the object at a checked key; absent is not an error. */
  protected abstract removeObject(key: string): Promise<void>;
}
