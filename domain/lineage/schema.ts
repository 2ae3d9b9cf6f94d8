import { z } from 'zod';
import { modelNameSchema } from '../registry/modelName';
import { artifactKinds } from '../storage/artifactRef';

/**
 * The lineage model of ML Metadata, cut to what Slipway needs: Artifacts (immutable content,
 * identified by sha256), Executions (one attempt of one step), Events (an execution read or
 * wrote an artifact in a role) and Contexts (the pipeline run, the model version).
 */
export const LINEAGE_SCHEMA_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const isoTime = z.iso.datetime({ offset: true });

/** Step names become part of keys and of the execution ID, whose separator is ".". */
export const stepNameSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    'a step name is a letter, then up to 63 letters, digits, "_" or "-"',
  );
/** What an artifact is to the execution: "snapshot", "scaler", "model"... Part of a key, so no dots. */
export const roleSchema = z
  .string()
  .regex(/^[a-z][A-Za-z0-9-]{0,63}$/, 'a role is a lowercase letter, then up to 63 letters, digits or "-"');

/**
 * An artifact as an execution saw it: a stored ArtifactRef, or a source outside the store (a
 * CSV path, s3:// object, synthetic:... generator) identified by the sha256 of its bytes.
 */
export const artifactInputSchema = z.object({
  uri: z.string().min(1),
  sha256,
  bytes: z.number().int().nonnegative(),
  kind: z.enum(artifactKinds),
  mediaType: z.string().min(1).optional(),
});
export type ArtifactInput = z.infer<typeof artifactInputSchema>;

export const lineageArtifactSchema = artifactInputSchema.extend({
  schemaVersion: z.literal(LINEAGE_SCHEMA_VERSION),
});
export type LineageArtifact = z.infer<typeof lineageArtifactSchema>;

/**
 * running: started, not finished (or the worker died); succeeded: ran and wrote its outputs;
 * cached: reused the outputs of an earlier execution with the same inputs (still linked, so the
 * chain stays unbroken); failed: ended with an error, outputs not linked.
 */
export const executionOutcomes = ['running', 'succeeded', 'cached', 'failed'] as const;
export type ExecutionOutcome = (typeof executionOutcomes)[number];
/** Outcomes whose output events count. */
export const COMPLETED: ReadonlySet<ExecutionOutcome> = new Set(['succeeded', 'cached']);

export const executionSchema = z.object({
  schemaVersion: z.literal(LINEAGE_SCHEMA_VERSION),
  id: z.string().min(1),
  step: stepNameSchema,
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  /** The activity attempt, from 1: MLMD-style, every attempt is its own execution. */
  attempt: z.number().int().min(1),
  /** Which worker ran it (host, process, task queue...). */
  worker: z.string().min(1).optional(),
  /** A git commit, or the package version plus a hash of the sources. */
  codeVersion: z.string().min(1),
  /** sha256 of the canonical JSON of the step's parameters. */
  paramsHash: sha256,
  startedAt: isoTime,
  endedAt: isoTime.optional(),
  outcome: z.enum(executionOutcomes),
  error: z.object({ type: z.string().min(1), message: z.string() }).optional(),
  /** The step-cache key and, for a hit, whose outputs were reused. */
  cache: z
    .object({
      key: z.string().min(1),
      reusedFrom: z.object({ workflowId: z.string().optional(), runId: z.string().optional() }).optional(),
    })
    .optional(),
});
export type Execution = z.infer<typeof executionSchema>;

export const eventSchema = z.object({
  schemaVersion: z.literal(LINEAGE_SCHEMA_VERSION),
  executionId: z.string().min(1),
  artifactSha256: sha256,
  type: z.enum(['input', 'output']),
  role: roleSchema,
  /** Where this execution read or wrote it (the same bytes may live at several URIs). */
  uri: z.string().min(1),
});
export type LineageEvent = z.infer<typeof eventSchema>;

export const runContextSchema = z.object({
  schemaVersion: z.literal(LINEAGE_SCHEMA_VERSION),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
});

export const modelContextSchema = z.object({
  schemaVersion: z.literal(LINEAGE_SCHEMA_VERSION),
  name: modelNameSchema,
  version: z.number().int().min(1),
  /** The execution that registered it; its inputs are where the upstream walk starts. */
  executionId: z.string().min(1),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  registeredAt: isoTime,
});
export type ModelContext = z.infer<typeof modelContextSchema>;
