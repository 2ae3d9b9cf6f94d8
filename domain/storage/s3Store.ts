import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import type { BucketItem } from 'minio';
import type { ArtifactRef } from './artifactRef';
import type { ObjectInfo, PutOptions } from './artifactStore';
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
import { assertDocumentKey, assertValidKey, assertValidPrefix, contentKey, keyOfRef } from './keys';
import { parseS3Uri, type S3Connection } from './s3Client';
import { pipeClassified, type S3ErrorContext, toStorageError } from './s3Errors';

export interface S3StoreOptions {
  /** Where streamed bodies are staged while their hash (and so their key) is computed. */
  stagingDir?: string;
}

/** The largest object one CopyObject request copies; a bigger one is uploaded again instead. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

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
export class S3ArtifactStore extends ContentAddressedStore {
  readonly location: string;
  readonly bucket: string;
  /** Key prefix inside the bucket, "" or "some/prefix" (no trailing slash). */
  readonly prefix: string;
  private readonly stagingDir: string;
  private bucketChecked: Promise<void> | undefined;

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
    const strip = this.prefix === '' ? 0 : this.prefix.length + 1;
    return items
      .filter((item) => item.name !== undefined)
      .map((item) => ({
        key: (item.name as string).slice(strip),
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
   * No byte leaves the server.
   */
  protected async markWritten(key: string, stored: StoredBytes): Promise<boolean> {
    if (stored.bytes > MAX_COPY_BYTES) return false;
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
          Headers: {
            ...this.connection.writeHeaders,
            'Content-Type': stored.mediaType,
            'X-Amz-Meta-Sha256': stored.sha256,
          },
        }),
      );
      return true;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'NoSuchKey' || code === 'NotFound') return false;
      throw toStorageError(error, this.context(key));
    }
  }

  protected async removeObject(key: string): Promise<void> {
    await this.ensureBucket();
    await this.call(key, () => this.connection.client.removeObject(this.bucket, this.fullKey(key)));
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

  private uriOf(key: string): string {
    return `${this.location}/${key}`;
  }
}
