import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import type { BucketItem } from 'minio';
import type { ArtifactRef } from './artifactRef';
import type { ObjectInfo, ObjectVersion, PutOptions } from './artifactStore';
import { bodyChunks, type NormalizedBody } from './body';
import { byKey, ContentAddressedStore, type StoredBytes } from './contentStore';
import {
  ArtifactNotFoundError,
  ChecksumMismatchError,
  type Digest,
  S3BucketNotFoundError,
  SourceChangedError,
} from './errors';
import { readAll, removeQuietly, writeChunksToFile } from './fileIo';
import { digestBytes, digestFile, VerifyingStream } from './hashing';
import {
  assertArtifactKey,
  assertDocumentKey,
  assertValidKey,
  assertValidPrefix,
  contentKey,
  keyOfRef,
} from './keys';
import { parseS3Uri, type S3Connection } from './s3Client';
import { pipeClassified, type S3ErrorContext, toStorageError } from './s3Errors';

export interface S3StoreOptions {
  /** Where streamed bodies are staged while their hash (and so their key) is computed. */
  stagingDir?: string;
  /**
   * The most one copy request copies (S3's limit for CopyObject and for each UploadPartCopy is
   * 5 GiB, the default). A bigger object is refreshed by a multipart copy in parts of this size;
   * tests set a few MiB to exercise that path without writing gigabytes. At least 5 MiB, S3's
   * smallest part.
   */
  maxCopyBytes?: number;
}

/** S3's largest single copy (CopyObject, or one UploadPartCopy). */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
/** S3's smallest multipart part (but the last). */
const MIN_PART_BYTES = 5 * 1024 ** 2;
/** Requests removing versions in one DeleteObjects call (S3 takes at most 1,000). */
const DELETE_BATCH = 1000;

/** One stored version of an object in a versioned bucket, as listed. */
interface ListedVersion {
  key: string;
  versionId: string;
  latest: boolean;
  deleteMarker: boolean;
  bytes: number;
  modified?: string;
}

/** Concurrent conditional writes may be answered 409 "try again" instead of 412; a few retries settle it. */
const CONDITIONAL_CONFLICT_RETRIES = 5;

/**
 * Artifacts in an S3 bucket under a prefix (MinIO, AWS S3, anything S3-compatible).
 *
 * The key is the content's hash, so a streamed body is first staged to a local temp file while
 * it is hashed, then uploaded to its final key. A PUT or completed multipart upload is atomic on
 * S3: readers see the whole object or none. An object already at the key with the same size is
 * the same bytes and is not uploaded again.
 */
/** What the client's version listing gives for each entry. */
interface ObjectInfoWithVersion {
  name?: string;
  size?: number;
  lastModified?: Date;
  versionId?: string | null;
  isLatest?: boolean | string;
  isDeleteMarker?: boolean;
}

/** A missing object (or one removed meanwhile), as the client reports it. */
function isGone(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'NoSuchKey' || code === 'NotFound';
}

export class S3ArtifactStore extends ContentAddressedStore {
  readonly location: string;
  readonly bucket: string;
  /** Key prefix inside the bucket, "" or "some/prefix" (no trailing slash). */
  readonly prefix: string;
  private readonly stagingDir: string;
  private readonly maxCopyBytes: number;
  private bucketChecked: Promise<void> | undefined;
  private versioned: Promise<boolean> | undefined;

  constructor(
    private readonly connection: S3Connection,
    location: string,
    options: S3StoreOptions = {},
  ) {
    super();
    const { bucket, key } = parseS3Uri(location);
    if (key !== '') assertValidKey(key);
    this.bucket = bucket;
    this.prefix = key;
    this.location = key === '' ? `s3://${bucket}` : `s3://${bucket}/${key}`;
    this.stagingDir = options.stagingDir ?? tmpdir();
    this.maxCopyBytes = options.maxCopyBytes ?? MAX_COPY_BYTES;
    if (!(this.maxCopyBytes >= MIN_PART_BYTES && this.maxCopyBytes <= MAX_COPY_BYTES)) {
      throw new RangeError(`maxCopyBytes must be from 5 MiB to 5 GiB, got ${this.maxCopyBytes}`);
    }
  }

  protected async putNormalized(
    normalized: NormalizedBody,
    options: PutOptions,
    extension: string,
  ): Promise<ArtifactRef> {
    await this.ensureBucket();
    const keyOf = (digest: Digest) => contentKey(options.kind, digest.sha256, extension);
    let digest: Digest;

    if (normalized.type === 'bytes') {
      digest = digestBytes(normalized.data);
      const key = keyOf(digest);
      if (!(await this.reuseStored(key, { ...digest, mediaType: options.mediaType }))) {
        await this.call(key, () =>
          this.connection.client.putObject(this.bucket, this.fullKey(key), normalized.data, digest.bytes, {
            ...this.connection.writeHeaders,
            'Content-Type': options.mediaType,
            'X-Amz-Meta-Sha256': digest.sha256,
          }),
        );
      }
    } else if (normalized.type === 'file') {
      // A local file can be read twice: hash it in place, then upload it, no copy needed.
      digest = await digestFile(normalized.filePath);
      await this.uploadFile(normalized.filePath, digest, keyOf(digest), options.mediaType);
    } else {
      await mkdir(this.stagingDir, { recursive: true });
      const staged = join(this.stagingDir, `slipway-put-${randomUUID()}.part`);
      try {
        digest = await writeChunksToFile(staged, bodyChunks(normalized));
        await this.uploadFile(staged, digest, keyOf(digest), options.mediaType);
      } finally {
        await removeQuietly(staged);
      }
    }
    return {
      uri: this.uriOf(keyOf(digest)),
      sha256: digest.sha256,
      bytes: digest.bytes,
      mediaType: options.mediaType,
      kind: options.kind,
    };
  }

  async get(ref: ArtifactRef): Promise<Readable> {
    const key = keyOfRef(this.location, ref);
    await this.ensureBucket();
    let response: Readable;
    try {
      response = await this.connection.client.getObject(this.bucket, this.fullKey(key));
    } catch (error) {
      if ((error as { code?: string }).code === 'NoSuchKey') throw new ArtifactNotFoundError(ref.uri);
      throw toStorageError(error, this.context(key));
    }
    const length = Number((response as Partial<IncomingMessage>).headers?.['content-length']);
    if (Number.isFinite(length) && length !== ref.bytes) {
      response.destroy();
      throw new ChecksumMismatchError(ref.uri, ref, { sha256: undefined, bytes: length });
    }
    return pipeClassified(response, new VerifyingStream(ref.uri, ref), this.context(key));
  }

  async exists(ref: ArtifactRef): Promise<boolean> {
    return (await this.head(keyOfRef(this.location, ref)))?.bytes === ref.bytes;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    await this.ensureBucket();
    try {
      const stat = await this.connection.client.statObject(this.bucket, this.fullKey(key));
      return { key, bytes: stat.size, modified: stat.lastModified?.toISOString() };
    } catch (error) {
      // HEAD has no error body: "NotFound" is a missing key, since the bucket was checked.
      const code = (error as { code?: string }).code;
      if (code === 'NotFound' || code === 'NoSuchKey') return undefined;
      throw toStorageError(error, this.context(key));
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    await this.ensureBucket();
    const items = await new Promise<BucketItem[]>((resolve, reject) => {
      const found: BucketItem[] = [];
      const stream = this.connection.client.listObjectsV2(this.bucket, this.fullKey(prefix), true);
      stream.on('data', (item) => found.push(item));
      stream.once('error', (error) => reject(toStorageError(error, this.context())));
      stream.once('end', () => resolve(found));
    });
    return items
      .filter((item) => item.name !== undefined)
      .map((item) => ({
        key: this.storeKey(item.name as string),
        bytes: item.size,
        modified: item.lastModified?.toISOString(),
      }))
      .sort(byKey);
  }

  protected async writeDocument(
    key: string,
    data: Buffer,
    options: { ifAbsent?: boolean; mediaType?: string },
  ): Promise<boolean> {
    await this.ensureBucket();
    const headers: Record<string, string> = {
      'Content-Type': options.mediaType ?? 'application/octet-stream',
    };
    // S3 conditional write: the server refuses the PUT (412) if any object already has this key,
    // atomically, so exactly one of many concurrent creators wins.
    if (options.ifAbsent) headers['If-None-Match'] = '*';
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connection.client.putObject(this.bucket, this.fullKey(key), data, data.length, {
          ...this.connection.writeHeaders,
          ...headers,
        });
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (options.ifAbsent && code === 'PreconditionFailed') return false;
        if (
          options.ifAbsent &&
          code === 'ConditionalRequestConflict' &&
          attempt < CONDITIONAL_CONFLICT_RETRIES
        ) {
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * (1 + Math.random())));
          continue;
        }
        throw toStorageError(error, this.context(key));
      }
    }
  }

  async getDocument(key: string): Promise<Buffer | undefined> {
    assertValidKey(key);
    await this.ensureBucket();
    let response: Readable;
    try {
      response = await this.connection.client.getObject(this.bucket, this.fullKey(key));
    } catch (error) {
      if ((error as { code?: string }).code === 'NoSuchKey') return undefined;
      throw toStorageError(error, this.context(key));
    }
    try {
      return await readAll(response);
    } catch (error) {
      throw toStorageError(error, this.context(key));
    }
  }

  async deleteDocument(key: string): Promise<void> {
    assertDocumentKey(key);
    await this.removeObject(key);
  }

  /**
   * S3 has no "touch": the object is copied onto itself with its metadata replaced (the same
   * content type and sha256), which S3 allows only so and which gives it a new Last-Modified.
   * No byte leaves the server. One CopyObject request copies at most 5 GiB, so a bigger object is
   * copied onto itself by a multipart upload whose parts are UploadPartCopy ranges of it (still
   * server-side), pinned to the object's ETag so every part copies the same bytes.
   *
   * On a versioned bucket each refresh leaves the previous version behind (the same bytes, the key
   * being their sha256): retention removes those (noncurrentVersions, deleteVersions).
   */
  protected async markWritten(key: string, stored: StoredBytes): Promise<boolean> {
    if (stored.bytes > this.maxCopyBytes) return this.copyOntoItselfInParts(key, stored);
    const object = this.fullKey(key);
    // Loaded when needed, from where the client was (s3Client.ts): its copy checks `instanceof`.
    const { CopyDestinationOptions, CopySourceOptions } = require('minio') as typeof import('minio');
    try {
      await this.connection.client.copyObject(
        new CopySourceOptions({ Bucket: this.bucket, Object: object }),
        new CopyDestinationOptions({
          Bucket: this.bucket,
          Object: object,
          MetadataDirective: 'REPLACE',
          Headers: this.objectHeaders(stored),
        }),
      );
      return true;
    } catch (error) {
      if (isGone(error)) return false;
      throw toStorageError(error, this.context(key));
    }
  }

  /**
   * The multipart form of the refresh, for objects over maxCopyBytes: parts of maxCopyBytes copied
   * from the object itself (UploadPartCopy with a byte range and If-Match on its ETag), completed
   * into a new object at the same key with the same metadata. (The client library's composeObject
   * is not used: it numbers every range of one source as the same part.) False, with the upload
   * aborted, when the object went or changed meanwhile: the caller uploads it again.
   */
  private async copyOntoItselfInParts(key: string, stored: StoredBytes): Promise<boolean> {
    const client = this.connection.client;
    const object = this.fullKey(key);
    let etag: string;
    try {
      const stat = await client.statObject(this.bucket, object);
      if (stat.size !== stored.bytes) return false;
      etag = stat.etag;
    } catch (error) {
      if (isGone(error)) return false;
      throw toStorageError(error, this.context(key));
    }
    const uploadId = await this.call(key, () =>
      client.initiateNewMultipartUpload(this.bucket, object, this.objectHeaders(stored)),
    );
    try {
      const parts: Array<{ part: number; etag: string }> = [];
      for (let start = 0, part = 1; start < stored.bytes; start += this.maxCopyBytes, part++) {
        const end = Math.min(start + this.maxCopyBytes, stored.bytes) - 1;
        const copied = await client.uploadPart({
          bucketName: this.bucket,
          objectName: object,
          uploadID: uploadId,
          partNumber: part,
          headers: {
            'x-amz-copy-source': encodeURI(`${this.bucket}/${object}`),
            'x-amz-copy-source-range': `bytes=${start}-${end}`,
            'x-amz-copy-source-if-match': etag,
          },
        });
        parts.push({ part, etag: copied.etag });
      }
      await client.completeMultipartUpload(this.bucket, object, uploadId, parts);
      return true;
    } catch (error) {
      await client.abortMultipartUpload(this.bucket, object, uploadId).catch(() => undefined);
      if (isGone(error) || (error as { code?: string }).code === 'PreconditionFailed') return false;
      throw toStorageError(error, this.context(key));
    }
  }

  private objectHeaders(stored: StoredBytes): Record<string, string> {
    return {
      ...this.connection.writeHeaders,
      'Content-Type': stored.mediaType,
      'X-Amz-Meta-Sha256': stored.sha256,
    };
  }

  protected async removeObject(key: string): Promise<void> {
    await this.ensureBucket();
    await this.call(key, () => this.connection.client.removeObject(this.bucket, this.fullKey(key)));
  }

  /**
   * On a bucket without versioning, a DELETE. On a versioned one a DELETE only stacks a delete
   * marker on the bytes, which stay billed: there every version of the key written before
   * `writtenBefore` (all of them when not given), delete markers included, is removed by its
   * version id, so the bytes are gone for good. A version written after it (a put that stored the
   * same bytes again while retention was deciding) stays, and so does the object.
   */
  override async deleteArtifact(key: string, options: { writtenBefore?: string } = {}): Promise<void> {
    assertArtifactKey(key);
    if (!(await this.isVersioned())) return this.removeObject(key);
    const before =
      options.writtenBefore === undefined ? Number.POSITIVE_INFINITY : Date.parse(options.writtenBefore);
    const versions = (await this.listVersions(key)).filter(
      (v) => v.key === key && (v.modified === undefined || Date.parse(v.modified) < before),
    );
    await this.removeVersions(versions);
  }

  /**
   * The versions a versioned bucket keeps of artifacts under `prefix` that are still stored (their
   * current version is an object, not a delete marker) besides that current one: copies a refresh
   * left behind, or a damaged write that was replaced. All hold what the current version holds (or
   * nothing valid), so removing them loses nothing. Objects whose current version is a delete
   * marker (deleted by someone else, or by retention before it removed versions) are left alone:
   * their old versions are the only copy, and whoever keeps versions may want them back.
   */
  override async noncurrentVersions(prefix: string): Promise<ObjectVersion[]> {
    assertValidPrefix(prefix);
    if (!(await this.isVersioned())) return [];
    const listed = await this.listVersions(prefix);
    const stored = new Set(listed.filter((v) => v.latest && !v.deleteMarker).map((v) => v.key));
    return listed
      .filter((v) => !v.latest && stored.has(v.key))
      .map(({ key, versionId, bytes, modified }) => ({ key, versionId, bytes, modified }));
  }

  /** Removes these versions for good, each by its version id (never the current one it was listed beside). */
  override async deleteVersions(versions: readonly ObjectVersion[]): Promise<void> {
    for (const v of versions) assertArtifactKey(v.key);
    await this.removeVersions(versions.map((v) => ({ ...v, latest: false, deleteMarker: false })));
  }

  private async removeVersions(versions: readonly ListedVersion[] | readonly ObjectVersion[]): Promise<void> {
    for (let i = 0; i < versions.length; i += DELETE_BATCH) {
      const batch = versions.slice(i, i + DELETE_BATCH);
      const answers = await this.call(batch[0]?.key ?? '', () =>
        this.connection.client.removeObjects(
          this.bucket,
          batch.map((v) => ({ name: this.fullKey(v.key), versionId: v.versionId })),
        ),
      );
      const failed = answers.find((a) => a?.Error?.Code !== undefined && a.Error.Code !== 'NoSuchVersion');
      if (failed?.Error) {
        throw toStorageError(
          Object.assign(new Error(failed.Error.Message ?? failed.Error.Code), { code: failed.Error.Code }),
          this.context(failed.Error.Key === undefined ? undefined : this.storeKey(failed.Error.Key)),
        );
      }
    }
  }

  /** Every version (and delete marker) under a store-relative prefix. */
  private async listVersions(prefix: string): Promise<ListedVersion[]> {
    await this.ensureBucket();
    return new Promise<ListedVersion[]>((resolve, reject) => {
      const found: ListedVersion[] = [];
      const stream = this.connection.client.listObjects(this.bucket, this.fullKey(prefix), true, {
        IncludeVersion: true,
      });
      stream.on('data', (item: ObjectInfoWithVersion) => {
        if (item.name === undefined || item.versionId === undefined) return;
        found.push({
          key: this.storeKey(item.name),
          versionId: String(item.versionId),
          latest: String(item.isLatest) === 'true',
          deleteMarker: item.isDeleteMarker === true,
          bytes: item.size ?? 0,
          modified: item.lastModified?.toISOString(),
        });
      });
      stream.once('error', (error) => reject(toStorageError(error, this.context())));
      stream.once('end', () => resolve(found));
    });
  }

  /**
   * Whether the bucket keeps versions (versioning enabled, or suspended after it was: the old
   * versions stay). Asked once per store. Credentials that may not ask (s3:GetBucketVersioning
   * refused) are taken to mean an unversioned bucket, as before this was asked: deletions are plain
   * DELETEs then, and the README says which permissions retention needs on a versioned bucket.
   */
  private isVersioned(): Promise<boolean> {
    this.versioned ??= (async () => {
      await this.ensureBucket();
      try {
        const answer = (await this.connection.client.getBucketVersioning(this.bucket)) as
          | { Status?: string }
          | undefined;
        return answer?.Status === 'Enabled' || answer?.Status === 'Suspended';
      } catch (error) {
        if ((error as { code?: string }).code === 'AccessDenied') return false;
        throw toStorageError(error, this.context());
      }
    })().catch((error) => {
      this.versioned = undefined;
      throw error;
    });
    return this.versioned;
  }

  /**
   * Uploads a local file whose digest is known, re-verifying it on the way: if the file changed
   * since it was hashed, the stream fails before the upload completes, so nothing is stored.
   */
  private async uploadFile(filePath: string, digest: Digest, key: string, mediaType: string): Promise<void> {
    if (await this.reuseStored(key, { ...digest, mediaType })) return;
    const body = pipeline(createReadStream(filePath), new VerifyingStream(filePath, digest), () => {
      // The upload sees the error through the stream it reads.
    });
    try {
      await this.connection.client.putObject(this.bucket, this.fullKey(key), body, digest.bytes, {
        ...this.connection.writeHeaders,
        'Content-Type': mediaType,
        'X-Amz-Meta-Sha256': digest.sha256,
      });
    } catch (error) {
      body.destroy();
      // A failed multipart upload keeps its parts on the server until aborted.
      await this.connection.client
        .removeIncompleteUpload(this.bucket, this.fullKey(key))
        .catch(() => undefined);
      if (error instanceof ChecksumMismatchError)
        throw new SourceChangedError(filePath, digest, error.found as Digest);
      throw toStorageError(error, this.context(key));
    }
  }

  /**
   * Checked once per store: HEAD requests cannot tell a missing bucket from a missing key, and a
   * missing bucket deserves its own message. A failed check is retried on the next call.
   */
  private ensureBucket(): Promise<void> {
    this.bucketChecked ??= (async () => {
      let exists: boolean;
      try {
        exists = await this.connection.client.bucketExists(this.bucket);
      } catch (error) {
        throw toStorageError(error, this.context());
      }
      if (!exists) throw new S3BucketNotFoundError(this.bucket, this.connection.endpoint);
    })().catch((error) => {
      this.bucketChecked = undefined;
      throw error;
    });
    return this.bucketChecked;
  }

  private async call<T>(key: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw toStorageError(error, this.context(key));
    }
  }

  private context(key?: string): S3ErrorContext {
    return {
      endpoint: this.connection.endpoint,
      bucket: this.bucket,
      uri: key === undefined ? undefined : this.uriOf(key),
    };
  }

  private fullKey(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** The store-relative key of a bucket key under this store's prefix (fullKey's inverse). */
  private storeKey(bucketKey: string): string {
    return this.prefix === '' ? bucketKey : bucketKey.slice(this.prefix.length + 1);
  }

  private uriOf(key: string): string {
    return `${this.location}/${key}`;
  }
}
