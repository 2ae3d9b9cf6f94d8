import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactRef } from './artifactRef';
import type { ObjectInfo, PutOptions } from './artifactStore';
import { bodyChunks, isSourceError, type NormalizedBody } from './body';
import { byKey, ContentAddressedStore, type StoredBytes } from './contentStore';
import {
  ArtifactNotFoundError,
  ChecksumMismatchError,
  type Digest,
  LocalStoreAccessError,
  StorageConfigError,
} from './errors';
import { fsyncDirectory, removeQuietly, writeChunksToFile } from './fileIo';
import { digestBytes, VerifyingStream } from './hashing';
import { assertDocumentKey, assertValidKey, assertValidPrefix, contentKey, keyOfRef, TEMP_DIR } from './keys';

export interface LocalStoreOptions {
  /** Temp files older than this (left by a crashed process) are removed on the first write. */
  staleTempAgeMs?: number;
}

const ACCESS_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT']);
/** link() is not supported everywhere (some network and FUSE file systems); rename is the fallback. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/**
 * Artifacts in a local directory (the embedded default). Every write goes to `<root>/.tmp/`
 * first, is fsynced, then linked or renamed into place, so a reader never sees a partial file
 * and a crash leaves at most a temp file that a later write sweeps away.
 */
export class LocalArtifactStore extends ContentAddressedStore {
  readonly location: string;
  readonly root: string;
  private readonly tempDir: string;
  private readonly staleTempAgeMs: number;
  private tempReady: Promise<void> | undefined;

  constructor(rootDir: string, options: LocalStoreOptions = {}) {
    super();
    this.root = resolve(rootDir);
    this.location = pathToFileURL(this.root).href.replace(/\/+$/, '');
    this.tempDir = join(this.root, TEMP_DIR);
    this.staleTempAgeMs = options.staleTempAgeMs ?? 24 * 60 * 60 * 1000;
  }

  /** file:///abs/dir -> store; a relative or non-local file URI is a configuration error. */
  static fromUri(uri: string, options?: LocalStoreOptions): LocalArtifactStore {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (error) {
      throw new StorageConfigError(
        `SLIPWAY_ARTIFACTS "${uri}" is not a usable file URI (${(error as Error).message}); ` +
          'use an absolute path such as file:///var/lib/slipway/artifacts.',
      );
    }
    return new LocalArtifactStore(path, options);
  }

  protected async putNormalized(
    normalized: NormalizedBody,
    options: PutOptions,
    extension: string,
  ): Promise<ArtifactRef> {
    const ref = (digest: Digest): ArtifactRef => ({
      uri: this.uriOf(contentKey(options.kind, digest.sha256, extension)),
      sha256: digest.sha256,
      bytes: digest.bytes,
      mediaType: options.mediaType,
      kind: options.kind,
    });

    const stored = (digest: Digest) => ({ ...digest, mediaType: options.mediaType });
    // In-memory bytes can be hashed before writing anything, so a retried put costs a stat and a utimes.
    if (normalized.type === 'bytes') {
      const digest = digestBytes(normalized.data);
      if (await this.reuseStored(contentKey(options.kind, digest.sha256, extension), stored(digest)))
        return ref(digest);
    }

    const temp = await this.newTempPath();
    try {
      const digest = await writeChunksToFile(temp, bodyChunks(normalized));
      const key = contentKey(options.kind, digest.sha256, extension);
      if (!(await this.reuseStored(key, stored(digest))))
        await this.publish(temp, this.pathOf(key), digest.bytes);
      return ref(digest);
    } catch (error) {
      throw this.mapFsError(error);
    } finally {
      await removeQuietly(temp);
    }
  }

  async get(ref: ArtifactRef): Promise<Readable> {
    const path = this.pathOf(keyOfRef(this.location, ref));
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFoundError(ref.uri);
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ArtifactNotFoundError(ref.uri);
      // A size difference is proof enough; fail before anyone reads a byte.
      if (info.size !== ref.bytes) {
        throw new ChecksumMismatchError(ref.uri, ref, { sha256: undefined, bytes: info.size });
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return pipeline(handle.createReadStream(), new VerifyingStream(ref.uri, ref), () => {
      // Errors reach the consumer through the returned stream; nothing else to do here.
    });
  }

  async exists(ref: ArtifactRef): Promise<boolean> {
    return this.hasObject(keyOfRef(this.location, ref), ref.bytes);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const info = await stat(this.pathOf(key)).catch((error) => {
      if (isMissing(error)) return undefined;
      throw error;
    });
    return info?.isFile() ? { key, bytes: info.size, modified: info.mtime.toISOString() } : undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    // Only the directory that holds the prefix's last complete segment needs walking.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash === -1 ? '' : prefix.slice(0, slash);
    const found: ObjectInfo[] = [];
    await this.walk(baseKey, prefix, found);
    return found.sort(byKey);
  }

  protected async writeDocument(
    key: string,
    data: Buffer,
    options: { ifAbsent?: boolean; mediaType?: string },
  ): Promise<boolean> {
    const finalPath = this.pathOf(key);
    const temp = await this.newTempPath();
    try {
      await writeChunksToFile(temp, [data]);
      await mkdir(dirname(finalPath), { recursive: true });
      if (options.ifAbsent) {
        // link() fails with EEXIST if the name is taken: an atomic create of a complete file.
        const created = await link(temp, finalPath).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') return false;
            if (NO_HARD_LINKS.has(error.code ?? '')) return createExclusive(finalPath, data);
            throw error;
          },
        );
        if (created) await fsyncDirectory(dirname(finalPath));
        return created;
      }
      await rename(temp, finalPath);
      await fsyncDirectory(dirname(finalPath));
      return true;
    } catch (error) {
      throw this.mapFsError(error);
    } finally {
      await removeQuietly(temp);
    }
  }

  async getDocument(key: string): Promise<Buffer | undefined> {
    assertValidKey(key);
    return readFile(this.pathOf(key)).catch((error) => {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw error;
    });
  }

  async deleteDocument(key: string): Promise<void> {
    assertDocumentKey(key);
    await removeQuietly(this.pathOf(key));
  }

  protected async removeObject(key: string): Promise<void> {
    await removeQuietly(this.pathOf(key));
  }

  protected async markWritten(key: string, _stored: StoredBytes): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(this.pathOf(key), now, now);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw this.mapFsError(error);
    }
  }

  private uriOf(key: string): string {
    return `${this.location}/${key}`;
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private async hasObject(key: string, bytes: number): Promise<boolean> {
    const info = await this.head(key);
    return info !== undefined && info.bytes === bytes;
  }

  private async newTempPath(): Promise<string> {
    this.tempReady ??= this.prepareTempDir().catch((error) => {
      this.tempReady = undefined;
      throw this.mapFsError(error);
    });
    await this.tempReady;
    return join(this.tempDir, `${randomUUID()}.part`);
  }

  /** Creates `.tmp/` and removes what crashed writers left there long ago. */
  private async prepareTempDir(): Promise<void> {
    await mkdir(this.tempDir, { recursive: true });
    const cutoff = Date.now() - this.staleTempAgeMs;
    for (const name of await readdir(this.tempDir)) {
      const path = join(this.tempDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) await removeQuietly(path);
    }
  }

  /**
   * Moves a complete temp file to its content-addressed name. An existing object of the same
   * size is the same bytes (same hash), which a concurrent put has just written, and is left
   * alone; one of another size is damaged and is replaced.
   */
  private async publish(temp: string, finalPath: string, bytes: number): Promise<void> {
    await mkdir(dirname(finalPath), { recursive: true });
    try {
      await link(temp, finalPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code !== 'EEXIST' && !NO_HARD_LINKS.has(code)) throw error;
      const existing = await stat(finalPath).catch(() => undefined);
      if (existing?.isFile() && existing.size === bytes) return;
      await rename(temp, finalPath);
    }
    await fsyncDirectory(dirname(finalPath));
  }

  private async walk(baseKey: string, prefix: string, found: ObjectInfo[]): Promise<void> {
    const dir = baseKey === '' ? this.root : this.pathOf(baseKey);
    const entries = await readdir(dir, { withFileTypes: true }).catch((error) => {
      if (isMissing(error)) return [];
      throw error;
    });
    for (const entry of entries) {
      // Hidden names are never keys: this skips .tmp/ and partial downloads.
      if (entry.name.startsWith('.')) continue;
      const key = baseKey === '' ? entry.name : `${baseKey}/${entry.name}`;
      if (entry.isDirectory()) {
        // Descend only where keys can still match the prefix.
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await this.walk(key, prefix, found);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const info = await stat(join(dir, entry.name)).catch(() => undefined);
        if (info) found.push({ key, bytes: info.size, modified: info.mtime.toISOString() });
      }
    }
  }

  private mapFsError(error: unknown): unknown {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (
      code &&
      ACCESS_CODES.has(code) &&
      !isSourceError(error) &&
      !(error instanceof LocalStoreAccessError)
    ) {
      return new LocalStoreAccessError(this.root, code, { cause: error });
    }
    return error;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Exclusive create for file systems without hard links: atomic, though briefly visible while written. */
async function createExclusive(path: string, data: Buffer): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}
