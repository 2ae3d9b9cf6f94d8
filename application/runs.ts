import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { progressQuery } from '../contracts/messages';
import { type PipelineProgress, stepOfActivity } from '../contracts/progress';

/** Every way a run can end, or stand: `slipway status`, the exit codes and the console name it. */
export type RunOutcome =
  | 'promoted'
  | 'registered'
  | 'awaiting-review'
  | 'blocked'
  | 'rejected'
  | 'timed-out'
  | 'superseded'
  | 'failed'
  | 'cancelled'
  | 'running';

/** The Temporal client SDK, loaded when first needed: it is slow to load and `--help` needs none of it. */
const temporalClient = () => require('@temporalio/client') as typeof import('@temporalio/client');

/**
 * How any Slipway run (trained, imported or scheduled) stands, read the same way by `slipway
 * status`, `schedule describe`, `cancel` and the console: its outcome, and for a run that did not
 * end well, why (the error's type and message and the step it failed in) or who cancelled it and
 * why. The cause comes from Temporal's close event (the result's failure chain), so it is there
 * for every finished run without asking a worker.
 */
export interface RunFailure {
  /** The error's type, e.g. MissingTargetColumn (a Temporal timeout: Timeout). */
  type: string;
  message: string;
  /** The pipeline step it failed in (extract, train, ...), when an activity failed. */
  step?: string;
  /** Where it happened when that is another run: a scheduled run's pipeline. */
  workflowId?: string;
}

export interface RunCancellation {
  reason?: string;
  /** Who asked (the identity `slipway cancel` sends), or the run that cancelled this one. */
  by?: string;
}

export interface RunView {
  workflowId: string;
  runId?: string;
  workflowType: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT... */
  status: string;
  outcome: RunOutcome | 'skipped';
  failure?: RunFailure;
  cancellation?: RunCancellation;
  /** The workflow's result, when it completed. */
  result?: unknown;
}

const wrappers = (e: unknown) =>
  e instanceof temporalClient().WorkflowFailedError ||
  e instanceof ActivityFailure ||
  e instanceof ChildWorkflowFailure;

/**
 * The cause of a failed run from its failure chain: the error raised where the work happened
 * (the first ApplicationFailure under the innermost activity or child run), the step of that
 * activity, and the child run it happened in.
 */
export function failureOf(err: unknown): RunFailure {
  let step: string | undefined;
  let where: string | undefined;
  let cause: ApplicationFailure | undefined;
  let capture = true;
  let last: unknown = err;
  for (let e: unknown = err; e instanceof Error; e = (e as Error & { cause?: unknown }).cause) {
    last = e;
    if (wrappers(e)) {
      if (e instanceof ActivityFailure) step = stepOfActivity[e.activityType] ?? e.activityType;
      if (e instanceof ChildWorkflowFailure) {
        where = e.execution.workflowId ?? undefined;
        step = undefined; // the parent's own steps do not say where the child failed
      }
      capture = true;
      continue;
    }
    if (e instanceof ApplicationFailure && capture) {
      cause = e;
      capture = false;
    }
  }
  const base = { ...(step ? { step } : {}), ...(where ? { workflowId: where } : {}) };
  if (cause) return { type: cause.type ?? 'ApplicationFailure', message: cause.message, ...base };
  if (last instanceof TimeoutFailure)
    return { type: 'Timeout', message: `timed out (${String(last.timeoutType)})`, ...base };
  if (last instanceof TerminatedFailure)
    return { type: 'Terminated', message: last.message || 'terminated', ...base };
  if (last instanceof CancelledFailure) return { type: 'Cancelled', message: last.message, ...base };
  const message = last instanceof Error ? last.message : String(last);
  return { type: last instanceof Error ? last.name : 'Error', message, ...base };
}

/** One line: "MissingTargetColumn in extract: data.csv, row 1: no target column ...". */
export function describeFailure(failure: RunFailure): string {
  const where = [
    failure.step ? `in ${failure.step}` : '',
    failure.workflowId ? `of ${failure.workflowId}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${failure.type}${where ? ` ${where}` : ''}: ${failure.message}`;
}

export function describeCancellation(c: RunCancellation): string {
  return `cancelled${c.by ? ` by ${c.by}` : ''}${c.reason ? `: ${c.reason}` : ''}`;
}

/** Who asked to cancel a run and why, from its history's cancel-request event. */
async function cancellationOf(client: Client, handle: WorkflowHandle): Promise<RunCancellation> {
  const history = await handle.fetchHistory();
  const event = history.events?.find((e) => e.workflowExecutionCancelRequestedEventAttributes);
  const attributes = event?.workflowExecutionCancelRequestedEventAttributes;
  const parent = attributes?.externalWorkflowExecution?.workflowId;
  if (parent) {
    // A scheduled run's pipeline is cancelled by its parent: the reason is the parent's.
    const up = await cancellationOf(client, client.workflow.getHandle(parent)).catch(() => undefined);
    return { by: `${parent}${up?.by ? ` (${up.by})` : ''}`, ...(up?.reason ? { reason: up.reason } : {}) };
  }
  return {
    ...(attributes?.identity ? { by: attributes.identity } : {}),
    ...(attributes?.cause ? { reason: attributes.cause } : {}),
  };
}

/** The outcome a finished workflow's result states (trainToDeploy, importModel, scheduledRetrain). */
function outcomeOfResult(result: unknown): RunOutcome | 'skipped' {
  const outcome = (result as { outcome?: string } | undefined)?.outcome;
  switch (outcome) {
    case 'promoted':
    case 'registered':
    case 'blocked':
    case 'rejected':
    case 'timed-out':
    case 'superseded':
    case 'skipped':
      return outcome;
    default:
      return 'registered'; // a workflow with no release outcome (extraction) did what it was asked
  }
}

export async function runView(client: Client, workflowId: string, runId?: string): Promise<RunView> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const description = await handle.describe();
  const status = description.status.name;
  const base = { workflowId, runId: description.runId, workflowType: description.type, status };
  if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') {
    const progress = await queryProgress(handle);
    const outcome: RunOutcome = progress?.review ? 'awaiting-review' : 'running';
    return { ...base, outcome };
  }
  if (status === 'COMPLETED') {
    const result = await handle.result();
    const outcome = outcomeOfResult(result);
    return { ...base, outcome, result };
  }
  if (status === 'CANCELLED') {
    return {
      ...base,
      outcome: 'cancelled',
      cancellation: await cancellationOf(client, handle).catch(() => ({})),
    };
  }
  let failure = failureOf(
    await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    ),
  );
  // Runs of a schedule started before the failure chain was kept name their pipeline only.
  if (failure.type === 'ScheduledPipelineFailed' && !failure.workflowId) {
    const child = await runView(client, `${workflowId}-pipeline`).catch(() => undefined);
    if (child?.failure)
      failure = { ...child.failure, workflowId: child.failure.workflowId ?? child.workflowId };
  }
  return { ...base, outcome: 'failed', failure };
}

/** The model a run works on, from its input (every Slipway workflow names it), or undefined. */
export async function modelOfRun(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<string | undefined> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  // Loaded here, not at the top: it loads the Temporal protobufs, which `--help` should not wait for.
  const { decodeFromPayloadsAtIndex } =
    require('@temporalio/common/lib/internal-non-workflow') as typeof import('@temporalio/common/lib/internal-non-workflow');
  const input = (await decodeFromPayloadsAtIndex(
    client.options.loadedDataConverter,
    0,
    started?.input?.payloads,
  ).catch(() => undefined)) as
    | { modelName?: string; pipeline?: { modelName?: string }; anomaly?: { modelName?: string } }
    | undefined;
  return input?.modelName ?? input?.pipeline?.modelName ?? input?.anomaly?.modelName;
}

/**
 * The newest runs of this Slipway (its task queue) that did not finish well: failed, cancelled,
 * terminated or timed out, each with its cause and the model it was for.
 */
export async function stoppedRuns(
  client: Client,
  taskQueue: string,
  limit = 10,
): Promise<Array<RunView & { model?: string; startedAt: string }>> {
  const query =
    `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus != 'Running' ` +
    "AND ExecutionStatus != 'Completed' AND ExecutionStatus != 'ContinuedAsNew'";
  const found: Array<{ workflowId: string; runId: string; startedAt: string }> = [];
  for await (const run of client.workflow.list({ query })) {
    found.push({ workflowId: run.workflowId, runId: run.runId, startedAt: run.startTime.toISOString() });
    if (found.length >= limit) break;
  }
  return Promise.all(
    found.map(async (r) => ({
      ...(await runView(client, r.workflowId, r.runId)),
      model: await modelOfRun(client, r.workflowId, r.runId).catch(() => undefined),
      startedAt: r.startedAt,
    })),
  );
}

/** The progress query, or undefined when no worker answers it within a few seconds. */
export async function queryProgress(handle: WorkflowHandle): Promise<PipelineProgress | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), 5000);
  });
  try {
    return await Promise.race([handle.query(progressQuery).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The workflow types that are runs of a model (a scheduled run's pipeline is a trainToDeploy too; a search registers one version too). */
const MODEL_RUN_TYPES = ['trainToDeploy', 'tuneToDeploy', 'trainAnomaly', 'importModel'] as const;

/** One run of a model in the runs view: how it ended, when, how long, and its key figures. */
export interface RunSummary extends RunView {
  model?: string;
  startedAt: string;
  closedAt?: string;
  seconds?: number;
  /** The version it registered, when it got that far. */
  version?: number;
  /** Held-out figures of the version it registered (classifiers; anomaly runs with a label). */
  figures?: { prAuc?: number; rocAuc?: number; precision?: number; recall?: number };
}

export interface RunFilter {
  /** Only runs of this model. */
  model?: string;
  /** Only runs that ended (or stand) so. */
  outcomes?: Array<RunOutcome | 'skipped'>;
  /** At most this many, newest first. */
  limit?: number;
  /** Runs read before giving up on finding `limit` that match (each costs a history read). */
  scanLimit?: number;
  /** Only runs of these workflow types (default: every kind of model run). */
  workflowTypes?: readonly string[];
  /** Only the run with this workflow ID. */
  workflowId?: string;
}

/**
 * Every run of a model (trained, anomaly or imported), newest first, whatever its end: promoted,
 * registered, blocked, rejected, timed out, failed, cancelled or still running, each with its
 * cause when it did not end well, its duration and the figures of the version it registered. The
 * runs view of the CLI (`slipway runs`) and the console.
 */
export async function listRuns(
  client: Client,
  taskQueue: string,
  filter: RunFilter = {},
): Promise<RunSummary[]> {
  const limit = filter.limit ?? 20;
  const scanLimit = filter.scanLimit ?? 500;
  const quote = (text: string) => `'${text.replace(/'/g, "\\'")}'`;
  const types = (filter.workflowTypes ?? MODEL_RUN_TYPES)
    .map((t) => `WorkflowType = ${quote(t)}`)
    .join(' OR ');
  const query =
    `TaskQueue = ${quote(taskQueue)} AND (${types})` +
    (filter.workflowId === undefined ? '' : ` AND WorkflowId = ${quote(filter.workflowId)}`);
  const found: RunSummary[] = [];
  let scanned = 0;
  for await (const run of client.workflow.list({ query })) {
    if (++scanned > scanLimit || found.length >= limit) break;
    const model = await modelOfRun(client, run.workflowId, run.runId).catch(() => undefined);
    if (filter.model !== undefined && model !== filter.model) continue;
    const view = await runView(client, run.workflowId, run.runId);
    if (filter.outcomes && !filter.outcomes.includes(view.outcome)) continue;
    const closedAt = run.closeTime;
    found.push({
      ...view,
      model,
      startedAt: run.startTime.toISOString(),
      ...(closedAt
        ? { closedAt: closedAt.toISOString(), seconds: (closedAt.getTime() - run.startTime.getTime()) / 1000 }
        : {}),
      ...figuresOf(view.result),
    });
  }
  // Visibility's order is not always by start time (closed runs can come first): newest first here.
  return found.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** The registered version and its held-out figures, from a run's result. */
function figuresOf(result: unknown): Pick<RunSummary, 'version' | 'figures'> {
  if (!result || typeof result !== 'object') return {};
  const r = result as {
    version?: unknown;
    metrics?: Record<string, unknown>;
    evaluation?: { metrics?: Record<string, unknown> };
  };
  const metrics = r.metrics ?? r.evaluation?.metrics;
  const pick = (key: string) => (typeof metrics?.[key] === 'number' ? (metrics[key] as number) : undefined);
  const figures = metrics
    ? { prAuc: pick('prAuc'), rocAuc: pick('rocAuc'), precision: pick('precision'), recall: pick('recall') }
    : undefined;
  return {
    ...(typeof r.version === 'number' ? { version: r.version } : {}),
    ...(figures ? { figures } : {}),
  };
}
