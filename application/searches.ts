import type { Client } from '@temporalio/client';
import type { TrialProgress, TuneProgress } from '../contracts/progress';
import type { TuneResult } from './results';
import { listRuns, queryProgress, type RunSummary, type RunView, runView } from './runs';

/** The workflow type of a search (`slipway tune`). */
export const SEARCH_TYPE = 'tuneToDeploy';

/** One child workflow of a trial (one per halving rung) and the training worker that ran it. */
export interface TrialRun {
  workflowId: string;
  /** Identity of the worker that ran (or runs) its training's last attempt; absent before one started. */
  worker?: string;
  /** That attempt's number: above 1 when a retry took over (a killed worker, a heartbeat timeout). */
  attempt?: number;
  /** The child's Temporal status: RUNNING, COMPLETED, FAILED... */
  status?: string;
}

export type TrialView = TrialProgress & { runs: TrialRun[] };

/** A search as it stands: the run, and its trials with who trained them and the winner. */
export interface SearchView extends RunView {
  /** Absent when the search never got to its trials, or no worker answered while it runs. */
  tune?: Omit<TuneProgress, 'trials'> & { trials: TrialView[] };
  /** The version the winner was registered as, once it was. */
  version?: number;
  model?: string;
}

/**
 * One search, read the same way by `slipway status` (table and `--json`) and the console: its
 * outcome (runView), its trials from the result once it completed or from the progress query
 * while it runs (or after it failed), and for each trial's child workflows the worker that
 * trained it, from Temporal (the pending activity while it runs, else the started event).
 */
export async function searchView(client: Client, workflowId: string, known?: RunView): Promise<SearchView> {
  const view = known ?? (await runView(client, workflowId));
  const result = view.result as TuneResult | undefined;
  const tune = result?.tune ?? (await queryProgress(client.workflow.getHandle(workflowId, view.runId)))?.tune;
  const base: SearchView = {
    ...view,
    ...(result ? { version: result.version, model: result.model } : {}),
  };
  if (!tune) return base;
  const trials = await Promise.all(
    tune.trials.map(async (trial) => ({
      ...trial,
      runs: await Promise.all(trial.workflowIds.map((id) => trialRun(client, id))),
    })),
  );
  return { ...base, tune: { ...tune, trials } };
}

/** The worker that trained a trial's child workflow, and on which attempt. */
async function trialRun(client: Client, workflowId: string): Promise<TrialRun> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch(() => undefined);
  if (!description) return { workflowId };
  const status = description.status.name;
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainModel');
  if (pending) {
    return {
      workflowId,
      status,
      ...(pending.lastWorkerIdentity ? { worker: pending.lastWorkerIdentity } : {}),
      ...(pending.attempt ? { attempt: pending.attempt } : {}),
    };
  }
  // Finished: only the last attempt's start is written to the history.
  const history = await handle.fetchHistory().catch(() => undefined);
  const started = (history?.events ?? [])
    .map((e) => e.activityTaskStartedEventAttributes)
    .filter((a) => a !== null && a !== undefined)
    .at(-1);
  return {
    workflowId,
    status,
    ...(started?.identity ? { worker: started.identity } : {}),
    ...(started?.attempt ? { attempt: started.attempt } : {}),
  };
}

/** A search in the list: the run, and from its result (once completed) the winner and the counts. */
export interface SearchSummary extends RunSummary {
  method?: string;
  trials?: number;
  best?: { trial: number; objective?: number; settings: Record<string, number | string> };
}

/** The newest searches of this Slipway (its task queue), newest first: the console's searches list. */
export async function listSearches(
  client: Client,
  taskQueue: string,
  options: { model?: string; limit?: number } = {},
): Promise<SearchSummary[]> {
  const runs = await listRuns(client, taskQueue, { ...options, workflowTypes: [SEARCH_TYPE] });
  return runs.map((run) => {
    const tune = (run.result as TuneResult | undefined)?.tune;
    if (!tune) return run;
    const best = tune.trials.find((t) => t.trial === tune.best);
    return {
      ...run,
      method: tune.method,
      trials: tune.trials.length,
      ...(best ? { best: { trial: best.trial, objective: best.objective, settings: best.settings } } : {}),
    };
  });
}
