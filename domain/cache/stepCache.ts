import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DomainError, errorKind } from '../errors';
import { type ArtifactRef, artifactRefSchema } from '../storage/artifactRef';
import type { ArtifactStore } from '../storage/artifactStore';
import { ArtifactOutsideStoreError, InvalidArtifactRefError } from '../storage/errors';
import { serializeDocument } from '../storage/jsonDocument';
import { canonicalJson } from './canonicalJson';

/**
 * Step caching in the manner of Kubeflow Pipelines: a step whose code version, input artifacts
 * and parameters hash to a key seen before reuses that execution's outputs instead of running.
 *
 * Layout in the artifact store:
 *
 *   cache/<step>/<key>.json   { schemaVersion, step, key, origin?, output }
 *
 * An entry is only a hit while every ArtifactRef inside its output still exists in the store, so
 * deleting (or losing) an artifact turns the entry into a miss rather than a broken pipeline.
 */
export const STEP_CACHE_PREFIX = 'cache/';
const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEY = /^[0-9a-f]{64}$/;
/** Part of the hashed material: bump it when the meaning of a key changes, to retire old entries. */
const KEY_FORMAT = 1;
const ENTRY_SCHEMA_VERSION = 1;

export class StepCacheError extends errorKind(DomainError, 'InvalidStepCacheKey', {
  name: 'StepCacheError',
}) {}

export interface StepCacheKeyInput {
  /** The step's name, e.g. "fitScaler"; one folder of the cache. */
  step: string;
  /** The code that computes the step (a commit, or package version plus source hash). */
  codeVersion: string;
  /** Input artifacts in the step's own order; only their sha256 counts, not where they are stored. */
  inputs: readonly ArtifactRef[];
  /** Every other setting that changes the output; must be plain JSON data. */
  params: unknown;
}

/** sha256 (hex) of the canonical JSON of the step, code version, input hashes and parameters. */
export function stepCacheKey(input: StepCacheKeyInput): string {
  assertStepName(input.step);
  if (typeof input.codeVersion !== 'string' || input.codeVersion.length === 0) {
    throw new StepCacheError(`Step cache key for "${input.step}": codeVersion must be a non-empty string.`);
  }
  const inputs = input.inputs.map((ref, i) => {
    if (typeof ref?.sha256 !== 'string' || !KEY.test(ref.sha256)) {
      throw new StepCacheError(
        `Step cache key for "${input.step}": inputs[${i}] is not an artifact reference with a sha256.`,
      );
    }
    return ref.sha256;
  });
  const material = canonicalJson({
    format: KEY_FORMAT,
    step: input.step,
    codeVersion: input.codeVersion,
    inputs,
    params: input.params ?? null,
  });
  return createHash('sha256').update(material, 'utf8').digest('hex');
}

export function stepCacheEntryKey(step: string, key: string): string {
  assertStepName(step);
  if (!KEY.test(key)) {
    throw new StepCacheError(
      `Invalid step cache key "${key}": expected 64 lowercase hex characters from stepCacheKey().`,
    );
  }
  return `${STEP_CACHE_PREFIX}${step}/${key}.json`;
}

/** Which execution recorded an entry, so a cache hit can say whose outputs it reuses. */
export const cacheOriginSchema = z.object({
  workflowId: z.string().optional(),
  runId: z.string().optional(),
  /** ISO time passed in by the caller (domain code reads no clocks). */
  recordedAt: z.string().optional(),
});
export type CacheOrigin = z.infer<typeof cacheOriginSchema>;

const entrySchema = z.object({
  schemaVersion: z.literal(ENTRY_SCHEMA_VERSION),
  step: z.string(),
  key: z.string(),
  origin: cacheOriginSchema.optional(),
  output: z.unknown(),
});

export type CacheMissReason = 'absent' | 'invalid' | 'artifact-missing';

export type CacheLookup<T> =
  | { hit: true; output: T; origin?: CacheOrigin }
  | { hit: false; reason: CacheMissReason /** Why, for logs. */; detail: string };

export type RecordOutcome = 'created' | 'kept' | 'replaced';

export class StepCache {
  constructor(readonly store: ArtifactStore) {}

  /**
   * The recorded output of (step, key), validated with `schema`, or a miss saying why. An entry
   * that does not parse or match `schema` is a miss (the step reruns and `record` replaces it),
   * not an error: a cache must never be the reason a pipeline cannot run.
   */
  async lookup<T>(step: string, key: string, schema: z.ZodType<T>): Promise<CacheLookup<T>> {
    const entryKey = stepCacheEntryKey(step, key);
    const raw = await this.store.getDocument(entryKey);
    if (raw === undefined) return { hit: false, reason: 'absent', detail: `no entry at ${entryKey}` };
    return this.check(entryKey, step, key, raw, schema);
  }

  /**
   * Stores the output of (step, key). The first entry is kept while it stays usable, since the same
   * key means the same inputs (`kept`); an entry that has gone stale or unreadable is overwritten
   * (`replaced`), otherwise every later run would miss.
   */
  async record(
    step: string,
    key: string,
    output: unknown,
    options: { origin?: CacheOrigin; schema?: z.ZodType<unknown> } = {},
  ): Promise<RecordOutcome> {
    const entryKey = stepCacheEntryKey(step, key);
    const entry = { schemaVersion: ENTRY_SCHEMA_VERSION, step, key, origin: options.origin, output };
    const body = serializeDocument(entry);
    const putOptions = { mediaType: 'application/json' };
    if (await this.store.putDocument(entryKey, body, { ...putOptions, ifAbsent: true })) return 'created';
    const existing = await this.store.getDocument(entryKey);
    if (existing !== undefined) {
      const found = await this.check(entryKey, step, key, existing, options.schema ?? z.unknown());
      if (found.hit) return 'kept';
    }
    await this.store.putDocument(entryKey, body, putOptions);
    return 'replaced';
  }

  private async check<T>(
    entryKey: string,
    step: string,
    key: string,
    raw: Buffer,
    schema: z.ZodType<T>,
  ): Promise<CacheLookup<T>> {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      return {
        hit: false,
        reason: 'invalid',
        detail: `${entryKey} is not JSON: ${(error as Error).message}`,
      };
    }
    const entry = entrySchema.safeParse(json);
    if (!entry.success || entry.data.step !== step || entry.data.key !== key) {
      return { hit: false, reason: 'invalid', detail: `${entryKey} is not a cache entry for ${step}/${key}` };
    }
    const output = schema.safeParse(entry.data.output);
    if (!output.success) {
      const issues = output.error.issues
        .map((i) => `${i.path.join('.') || 'output'}: ${i.message}`)
        .join('; ');
      return {
        hit: false,
        reason: 'invalid',
        detail: `${entryKey} does not match the step's output schema: ${issues}`,
      };
    }
    for (const ref of artifactRefsIn(entry.data.output)) {
      const present = await this.store.exists(ref).catch((error: unknown) => {
        // A ref into another store (the configuration changed) cannot be reused here.
        if (error instanceof ArtifactOutsideStoreError || error instanceof InvalidArtifactRefError)
          return false;
        throw error;
      });
      if (!present) {
        return {
          hit: false,
          reason: 'artifact-missing',
          detail: `${entryKey} refers to ${ref.uri}, which is gone`,
        };
      }
    }
    return { hit: true, output: output.data, origin: entry.data.origin };
  }
}

/** Every object inside `value` (at any depth) that is a well-formed ArtifactRef. */
export function artifactRefsIn(value: unknown): ArtifactRef[] {
  const found: ArtifactRef[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const asRef = artifactRefSchema.safeParse(node);
    if (asRef.success) {
      found.push(asRef.data);
      return;
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(value);
  return found;
}

function assertStepName(step: string): void {
  if (typeof step !== 'string' || !STEP_NAME.test(step)) {
    throw new StepCacheError(
      `Invalid step name ${JSON.stringify(step)}: use 1-64 letters, digits, ".", "_" or "-", starting with a ` +
        'letter or digit (for example "fitScaler").',
    );
  }
}
