import type { ArtifactStore } from '../storage/artifactStore';
import { formatIssues, readJsonDocument, serializeDocument } from '../storage/jsonDocument';
import { allocateNumbered } from '../storage/numberedLog';
import {
  CorruptRegistryDocumentError,
  InvalidModelVersionMetadataError,
  ModelNotFoundError,
  ModelVersionNotFoundError,
  RegistryContentionError,
} from './errors';
import {
  assertVersionNumber,
  cardKey,
  claimKey,
  claimsPrefix,
  MAX_VERSION,
  parseVersionKey,
  REGISTRY_PREFIX,
  versionKey,
  versionOfKey,
  versionsPrefix,
} from './layout';
import {
  METADATA_SCHEMA_VERSION,
  type ModelVersionDraft,
  type ModelVersionMetadata,
  modelVersionDraftSchema,
  modelVersionMetadataSchema,
} from './metadata';
import { renderModelCard } from './modelCard';
import { assertModelName } from './modelName';

/** The draft of a new version, or a function that builds it once the version number is known. */
export type DraftSource =
  | ModelVersionDraft
  | ((version: number) => ModelVersionDraft | Promise<ModelVersionDraft>);

export interface RegisterVersionRequest {
  /**
   * Identifies one logical registration, e.g. `${workflowId}/${runId}/register`. Registering again
   * with the same key (a retried activity) returns the version the first attempt committed.
   */
  idempotencyKey: string;
  /** Called with each candidate number until one is won; must not have side effects. */
  build: DraftSource;
}

export interface RegisteredVersion {
  metadata: ModelVersionMetadata;
  /** False when an earlier attempt with the same idempotency key had already registered it. */
  created: boolean;
  /** Store-relative key of the metadata document. */
  metadataKey: string;
}

export interface ModelRegistryOptions {
  /** Numbers one registration may try before giving up with a retryable RegistryContention error. */
  maxAttempts?: number;
}

const JSON_TYPE = 'application/json';
const MARKDOWN_TYPE = 'text/markdown; charset=utf-8';
const MAX_IDEMPOTENCY_KEY_LENGTH = 1024;

/**
 * Registered models and their numbered versions, kept as documents in an ArtifactStore (layout in
 * ./layout.ts). Version documents are immutable; the only coordination is the store's atomic
 * create-if-absent, which works the same on a local directory and on S3.
 *
 * Registration protocol, and why each step is where it is:
 *  1. List the versions, THEN list this idempotency key's claims and read the versions they name:
 *     if one carries this key, an earlier attempt committed it; return it. (Listing versions first
 *     means any attempt that committed before that listing has its claim visible afterwards.)
 *  2. Try n = max + 1: store the model card (content-addressed, harmless if never used), write the
 *     claim marker for n, then create versions/n ifAbsent with the complete metadata. That create
 *     is the commit point: before it nothing is visible, after it the version is whole.
 *  3. If n was taken, read its document: if it carries this key, a concurrent twin attempt (a
 *     retried activity whose first attempt is still running) won it; return that. Otherwise try
 *     n + 1. Versions are therefore created in order, and two attempts with one key cannot both
 *     commit: whichever commits second would have passed through, or listed after, the first.
 *  4. After the commit, copy the card to cards/n.md for people browsing the store. A crash before
 *     this copy is healed by the retry, which takes path 1.
 */
export class ModelRegistry {
  private readonly maxAttempts: number;

  constructor(
    readonly store: ArtifactStore,
    options: ModelRegistryOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 1000;
  }

  async registerVersion(name: string, request: RegisterVersionRequest): Promise<RegisteredVersion> {
    assertModelName(name);
    const { idempotencyKey } = request;
    if (
      typeof idempotencyKey !== 'string' ||
      idempotencyKey.length === 0 ||
      idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH
    ) {
      throw new InvalidModelVersionMetadataError(
        `Cannot register a version of "${name}": the idempotency key must be a non-empty string of at most ` +
          `${MAX_IDEMPOTENCY_KEY_LENGTH} characters, such as "<workflowId>/<runId>/register".`,
      );
    }

    const taken = await this.versionNumbers(name);
    const earlier = await this.findByIdempotencyKey(name, idempotencyKey);
    if (earlier) return this.alreadyRegistered(earlier);

    let next = (taken[taken.length - 1] ?? 0) + 1;
    return allocateNumbered({
      maxAttempts: this.maxAttempts,
      attempt: async () => {
        const candidate = next++;
        if (candidate > MAX_VERSION) {
          throw new InvalidModelVersionMetadataError(
            `Model "${name}" has reached the last version number (${MAX_VERSION}); register under a new name.`,
          );
        }
        const draft = await this.resolveDraft(name, candidate, request.build);
        const cardText = renderModelCard({ name, version: candidate, ...draft });
        const modelCard = await this.store.put(cardText, {
          kind: 'model-card',
          mediaType: MARKDOWN_TYPE,
          extension: '.md',
        });
        const metadata = modelVersionMetadataSchema.parse({
          schemaVersion: METADATA_SCHEMA_VERSION,
          name,
          version: candidate,
          ...draft,
          registration: { idempotencyKey, modelCard },
        });
        await this.store.putDocument(
          claimKey(name, idempotencyKey, candidate),
          `${JSON.stringify({ idempotencyKey, version: candidate })}\n`,
          { mediaType: JSON_TYPE },
        );
        const metadataKey = versionKey(name, candidate);
        const created = await this.store.putDocument(metadataKey, serializeDocument(metadata), {
          ifAbsent: true,
          mediaType: JSON_TYPE,
        });
        if (created) {
          await this.store.putDocument(cardKey(name, candidate), cardText, {
            ifAbsent: true,
            mediaType: MARKDOWN_TYPE,
          });
          return { won: { metadata, created: true, metadataKey } };
        }
        const winner = await this.readVersion(name, candidate);
        if (winner?.registration.idempotencyKey === idempotencyKey)
          return { won: await this.alreadyRegistered(winner) };
        return 'lost';
      },
      contention: () =>
        new RegistryContentionError(
          `Could not register a version of "${name}": ${this.maxAttempts} version numbers in a row were taken by ` +
            'other registrations running at the same time. The attempt will be retried.',
        ),
    });
  }

  /** The metadata of one version; ModelNotFound or ModelVersionNotFound (naming what exists) otherwise. */
  async getVersion(name: string, version: number): Promise<ModelVersionMetadata> {
    assertModelName(name);
    assertVersionNumber(version);
    const metadata = await this.readVersion(name, version);
    if (metadata) return metadata;
    const existing = await this.versionNumbers(name);
    if (existing.length === 0) throw await this.modelNotFound(name);
    throw new ModelVersionNotFoundError(name, version, existing);
  }

  /** Version numbers of a model, ascending; ModelNotFound when it has none. */
  async listVersions(name: string): Promise<number[]> {
    const versions = await this.versionNumbers(name);
    if (versions.length === 0) throw await this.modelNotFound(name);
    return versions;
  }

  /** The highest-numbered version's metadata. */
  async latestVersion(name: string): Promise<ModelVersionMetadata> {
    const versions = await this.listVersions(name);
    return this.getVersion(name, versions[versions.length - 1]);
  }

  /** Names of models with at least one committed version, sorted. */
  async listModels(): Promise<string[]> {
    const names = new Set<string>();
    for (const { key } of await this.store.list(REGISTRY_PREFIX)) {
      const parsed = parseVersionKey(key);
      if (parsed) names.add(parsed.name);
    }
    return [...names].sort();
  }

  /** The Markdown model card of a version, read through its content address (verified). */
  async getModelCard(name: string, version: number): Promise<string> {
    const metadata = await this.getVersion(name, version);
    return (await this.store.getBytes(metadata.registration.modelCard)).toString('utf8');
  }

  /** The version an earlier registration with this idempotency key committed, if any. */
  async findByIdempotencyKey(
    name: string,
    idempotencyKey: string,
  ): Promise<ModelVersionMetadata | undefined> {
    const claimed = (await this.store.list(claimsPrefix(name, idempotencyKey)))
      .map(({ key }) => versionOfKey(key))
      .filter((v): v is number => v !== undefined)
      .sort((a, b) => b - a);
    for (const version of claimed) {
      const metadata = await this.readVersion(name, version);
      if (metadata?.registration.idempotencyKey === idempotencyKey) return metadata;
    }
    return undefined;
  }

  private async versionNumbers(name: string): Promise<number[]> {
    const prefix = versionsPrefix(name);
    const versions: number[] = [];
    for (const { key } of await this.store.list(prefix)) {
      // Only direct children shaped like a version document count; anything else is not ours.
      const version = versionOfKey(key);
      if (version !== undefined && key === versionKey(name, version)) versions.push(version);
    }
    return versions.sort((a, b) => a - b);
  }

  /** A committed version's metadata, validated; undefined when that version was never committed. */
  private async readVersion(name: string, version: number): Promise<ModelVersionMetadata | undefined> {
    const key = versionKey(name, version);
    const corrupt = (problem: string) => new CorruptRegistryDocumentError(key, this.store.location, problem);
    const metadata = await readJsonDocument(this.store, key, modelVersionMetadataSchema, corrupt);
    if (metadata && (metadata.name !== name || metadata.version !== version)) {
      throw corrupt(
        `it describes ${metadata.name} version ${metadata.version}, not ${name} version ${version}`,
      );
    }
    return metadata;
  }

  private async resolveDraft(name: string, version: number, build: DraftSource): Promise<ModelVersionDraft> {
    const candidate = typeof build === 'function' ? await build(version) : build;
    const parsed = modelVersionDraftSchema.safeParse(candidate);
    if (!parsed.success) {
      throw new InvalidModelVersionMetadataError(
        `Cannot register version ${version} of "${name}": the metadata is invalid: ${formatIssues(parsed.error)}.`,
      );
    }
    return parsed.data;
  }

  /** Finishes what a crashed attempt may have left undone (the card copy) and returns its version. */
  private async alreadyRegistered(metadata: ModelVersionMetadata): Promise<RegisteredVersion> {
    const key = cardKey(metadata.name, metadata.version);
    if ((await this.store.head(key)) === undefined) {
      const card = await this.store.getBytes(metadata.registration.modelCard);
      await this.store.putDocument(key, card, { ifAbsent: true, mediaType: MARKDOWN_TYPE });
    }
    return { metadata, created: false, metadataKey: versionKey(metadata.name, metadata.version) };
  }

  private async modelNotFound(name: string): Promise<ModelNotFoundError> {
    return new ModelNotFoundError(name, this.store.location, await this.listModels());
  }
}
