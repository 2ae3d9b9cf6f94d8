import type { z } from 'zod';
import { canonicalJson, NonCanonicalValueError } from '../cache/canonicalJson';
import { modelNameProblem } from '../registry/modelName';
import type { ArtifactStore } from '../storage/artifactStore';
import { sha256Hex } from '../storage/hashing';
import { formatIssues, readJsonDocument, serializeDocument } from '../storage/jsonDocument';
import { CorruptLineageDocumentError, InvalidLineageRecordError } from './errors';
import {
  artifactKey,
  type EventType,
  eventKey,
  eventsPrefix,
  executionId,
  executionKey,
  linkKey,
  linkPrefix,
  modelContextKey,
  modelExecutionKey,
  modelExecutionsPrefix,
  parseLinkKey,
  runContextKey,
  runExecutionsPrefix,
  uriIndexKey,
  uriPrefix,
} from './layout';
import {
  type ArtifactInput,
  artifactInputSchema,
  COMPLETED,
  type Execution,
  type ExecutionOutcome,
  eventSchema,
  executionSchema,
  LINEAGE_SCHEMA_VERSION,
  type LineageArtifact,
  type LineageEvent,
  lineageArtifactSchema,
  type ModelContext,
  modelContextSchema,
  roleSchema,
  stepNameSchema,
} from './schema';

export interface RecordExecutionRequest {
  workflowId: string;
  runId: string;
  step: string;
  /** The activity attempt (from 1). A retry is a new execution; only the attempt that succeeds links outputs. */
  attempt: number;
  worker?: string;
  codeVersion: string;
  /** The step's settings; only their hash is kept (they are in the workflow history and the registry). */
  params: unknown;
  startedAt: string;
  /** Required unless the outcome is `running`. */
  endedAt?: string;
  outcome: ExecutionOutcome;
  error?: { type: string; message: string };
  cache?: Execution['cache'];
  /** Artifacts read, by role, e.g. { snapshot, split, scaler }. */
  inputs?: Record<string, ArtifactInput>;
  /** Artifacts written (or reused, for `cached`), by role; only for a succeeded or cached outcome. */
  outputs?: Record<string, ArtifactInput>;
  /** For the registration step: the model version it committed, which becomes a model-version context. */
  registered?: { name: string; version: number };
}

const JSON_TYPE = 'application/json';

/**
 * Lineage records in an ArtifactStore (layout in ./layout.ts), written by the pipeline's steps as
 * they run and read by the queries in ./query.ts.
 *
 * Idempotent by construction: an execution's ID is derived from (workflowId, runId, step,
 * attempt), artifacts from their sha256, events from (execution, type, role), so repeating a call
 * rewrites the same keys with the same bytes. Order gives crash safety: artifacts, events and
 * indexes first, the execution document last (readers follow an output event only when its
 * execution says succeeded or cached), the model-version context after that.
 */
export class LineageStore {
  constructor(readonly store: ArtifactStore) {}

  async recordExecution(request: RecordExecutionRequest): Promise<Execution> {
    const execution = this.buildExecution(request);
    const inputs = checkArtifacts(request.inputs, 'inputs');
    const outputs = checkArtifacts(request.outputs, 'outputs');
    const completed = COMPLETED.has(execution.outcome);
    if (!completed && outputs.length > 0) {
      throw new InvalidLineageRecordError(
        `Execution ${execution.step} (attempt ${execution.attempt}) is ${execution.outcome}: only a succeeded or ` +
          'cached execution links outputs, so a failed attempt never appears as the producer of an artifact.',
      );
    }
    if (request.registered !== undefined && !completed) {
      throw new InvalidLineageRecordError(
        `Execution ${execution.step} (attempt ${execution.attempt}) is ${execution.outcome}, so it cannot have registered a model version.`,
      );
    }

    await this.create(runContextKey(execution.workflowId, execution.runId), {
      schemaVersion: LINEAGE_SCHEMA_VERSION,
      workflowId: execution.workflowId,
      runId: execution.runId,
    });
    const links = [
      ...inputs.map(([role, artifact]) => ({ type: 'input' as const, role, artifact })),
      ...outputs.map(([role, artifact]) => ({ type: 'output' as const, role, artifact })),
    ];
    await Promise.all(links.map((link) => this.recordArtifact(link.artifact)));
    await Promise.all(
      links.map((link) => this.recordEvent(execution.id, link.type, link.role, link.artifact)),
    );
    await this.writeExecution(execution);
    if (request.registered !== undefined) await this.recordModelVersion(execution, request.registered);
    return execution;
  }

  async getExecution(id: string): Promise<Execution | undefined> {
    return this.read(executionKey(id), executionSchema);
  }

  /** Every recorded execution (all steps, all attempts) of one pipeline run, in key order. */
  async runExecutions(workflowId: string, runId: string): Promise<Execution[]> {
    const keys = await this.store.list(runExecutionsPrefix(workflowId, runId));
    const executions = await Promise.all(keys.map(({ key }) => this.read(key, executionSchema)));
    return executions.filter((e): e is Execution => e !== undefined);
  }

  async getArtifact(sha256: string): Promise<LineageArtifact | undefined> {
    return this.read(artifactKey(sha256), lineageArtifactSchema);
  }

  async events(id: string, type?: EventType): Promise<LineageEvent[]> {
    const keys = await this.store.list(eventsPrefix(id, type));
    const events = await Promise.all(keys.map(({ key }) => this.read(key, eventSchema)));
    return events.filter((e): e is LineageEvent => e !== undefined);
  }

  /** Executions that wrote (`output`) or read (`input`) an artifact, from the index keys alone. */
  async links(type: EventType, sha256: string): Promise<{ executionId: string; role: string }[]> {
    const keys = await this.store.list(linkPrefix(type, sha256));
    return keys.map(({ key }) => parseLinkKey(key)).filter((l) => l !== undefined);
  }

  /** The contents (sha256) ever recorded at a URI, e.g. every version of a source file that was read. */
  async artifactsAtUri(uri: string): Promise<string[]> {
    const keys = await this.store.list(uriPrefix(uri));
    return keys.map(({ key }) => /([0-9a-f]{64})\.json$/.exec(key)?.[1]).filter((s) => s !== undefined);
  }

  async modelContext(name: string, version: number): Promise<ModelContext | undefined> {
    return this.read(modelContextKey(name, version), modelContextSchema);
  }

  /** Model versions an execution registered. */
  async modelsRegisteredBy(id: string): Promise<{ name: string; version: number }[]> {
    const prefix = modelExecutionsPrefix(id);
    const keys = await this.store.list(prefix);
    return keys
      .map(({ key }) => /^([^@]+)@(\d{8})\.json$/.exec(key.slice(prefix.length)))
      .filter((m) => m !== null && modelNameProblem(m[1] as string) === undefined)
      .map((m) => ({ name: m?.[1] as string, version: Number(m?.[2]) }));
  }

  private buildExecution(request: RecordExecutionRequest): Execution {
    const step = stepNameSchema.safeParse(request.step);
    if (!step.success) {
      throw new InvalidLineageRecordError(
        `Invalid lineage step ${JSON.stringify(request.step)}: ${step.error.issues[0]?.message}.`,
      );
    }
    let paramsHash: string;
    try {
      paramsHash = sha256Hex(canonicalJson(request.params ?? null));
    } catch (error) {
      if (error instanceof NonCanonicalValueError) throw new InvalidLineageRecordError(error.message);
      throw error;
    }
    if (request.outcome !== 'running' && request.endedAt === undefined) {
      throw new InvalidLineageRecordError(
        `Execution ${request.step} is ${request.outcome} but has no endedAt: pass the time it ended.`,
      );
    }
    const candidate = {
      schemaVersion: LINEAGE_SCHEMA_VERSION,
      id: Number.isInteger(request.attempt)
        ? executionId(request.workflowId, request.runId, request.step, request.attempt)
        : 'invalid',
      step: request.step,
      workflowId: request.workflowId,
      runId: request.runId,
      attempt: request.attempt,
      worker: request.worker,
      codeVersion: request.codeVersion,
      paramsHash,
      startedAt: request.startedAt,
      endedAt: request.endedAt,
      outcome: request.outcome,
      error: request.error,
      cache: request.cache,
    };
    const parsed = executionSchema.safeParse(candidate);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error);
      throw new InvalidLineageRecordError(`Invalid lineage execution for step "${request.step}": ${issues}.`);
    }
    return parsed.data;
  }

  private async recordArtifact(artifact: ArtifactInput): Promise<void> {
    // The first sighting names the artifact; the URI index remembers every place it was seen.
    await Promise.all([
      this.create(artifactKey(artifact.sha256), { schemaVersion: LINEAGE_SCHEMA_VERSION, ...artifact }),
      this.create(uriIndexKey(artifact.uri, artifact.sha256), { uri: artifact.uri, sha256: artifact.sha256 }),
    ]);
  }

  private async recordEvent(
    id: string,
    type: EventType,
    role: string,
    artifact: ArtifactInput,
  ): Promise<void> {
    const event: LineageEvent = {
      schemaVersion: LINEAGE_SCHEMA_VERSION,
      executionId: id,
      artifactSha256: artifact.sha256,
      type,
      role,
      uri: artifact.uri,
    };
    await Promise.all([
      this.create(eventKey(id, type, role), event),
      this.create(linkKey(type, artifact.sha256, id, role), event),
    ]);
  }

  /** Overwrites the attempt's document, except that a late `running` never hides how it ended. */
  private async writeExecution(execution: Execution): Promise<void> {
    const key = executionKey(execution.id);
    if (execution.outcome === 'running') {
      const existing = await this.read(key, executionSchema).catch(() => undefined);
      if (existing !== undefined && existing.outcome !== 'running') return;
    }
    await this.store.putDocument(key, serializeDocument(execution), { mediaType: JSON_TYPE });
  }

  private async recordModelVersion(
    execution: Execution,
    registered: { name: string; version: number },
  ): Promise<void> {
    const context: ModelContext = {
      schemaVersion: LINEAGE_SCHEMA_VERSION,
      name: registered.name,
      version: registered.version,
      executionId: execution.id,
      workflowId: execution.workflowId,
      runId: execution.runId,
      registeredAt: execution.endedAt ?? execution.startedAt,
    };
    const parsed = modelContextSchema.safeParse(context);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error);
      throw new InvalidLineageRecordError(`Invalid registered model version: ${issues}.`);
    }
    await this.create(modelExecutionKey(execution.id, registered.name, registered.version), context);
    // The first attempt to record it keeps it: a retry that re-registered the same version adds
    // its own index entry above, so a downstream walk through either attempt finds the version.
    await this.create(modelContextKey(registered.name, registered.version), context);
  }

  private async create(key: string, document: unknown): Promise<void> {
    await this.store.putDocument(key, serializeDocument(document), { ifAbsent: true, mediaType: JSON_TYPE });
  }

  private read<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    return readJsonDocument(
      this.store,
      key,
      schema,
      (problem) => new CorruptLineageDocumentError(key, this.store.location, problem),
    );
  }
}

function checkArtifacts(
  artifacts: Record<string, ArtifactInput> | undefined,
  field: string,
): [string, ArtifactInput][] {
  return Object.entries(artifacts ?? {}).map(([role, artifact]) => {
    const roleCheck = roleSchema.safeParse(role);
    if (!roleCheck.success) {
      throw new InvalidLineageRecordError(
        `Invalid role ${JSON.stringify(role)} in ${field}: ${roleCheck.error.issues[0]?.message}.`,
      );
    }
    // Only the fields lineage keeps: an ArtifactRef passes as it is, and extra fields do not leak in.
    const parsed = artifactInputSchema.safeParse(artifact);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error);
      throw new InvalidLineageRecordError(`Invalid artifact for ${field}.${role}: ${issues}.`);
    }
    return [role, parsed.data];
  });
}
