import type {
  AnomalyRunResult,
  ImportResult,
  PipelineResult,
  ScheduledRetrainResult,
  TuneResult,
} from '../../application/results';
import { queryProgress, type RunView, runView } from '../../application/runs';
import { SEARCH_TYPE, type SearchView, searchView } from '../../application/searches';
import { anomalyRunJson, describeAnomalyRun } from '../anomalyRun';
import { exitCodeFor } from '../exitCodes';
import { printResult } from '../output';
import {
  describeAwaitingReview,
  describeEpoch,
  describePipeline,
  pipelineJson,
  stepsTable,
} from '../pipelineRun';
import { describeRunEnd, runEndJson } from '../runEnd';
import { openSession } from '../session';
import { describeImport, importJson } from './import';
import { describeTune, trialsTable, tuneJson } from './tune';

/**
 * `slipway status <id>`: how a run stands, whatever started it. A finished run shows its result;
 * a failed or cancelled one its cause; a running one its steps and last epoch. The exit code is
 * the run's outcome (see cli/exitCodes.ts), 0 while it runs.
 */
export async function showStatus(workflowId: string, opts: { json?: boolean }): Promise<void> {
  const session = await openSession({ needWorker: false });
  try {
    const view = await runView(session.client, workflowId);
    process.exitCode = exitCodeFor(view.outcome);
    // A search: its trials with the workers that trained them (as the console shows them).
    const search =
      view.workflowType === SEARCH_TYPE ? await searchView(session.client, workflowId, view) : undefined;
    if (view.status === 'COMPLETED') {
      printCompleted(view, opts, search);
      return;
    }
    const handle = session.client.workflow.getHandle(workflowId, view.runId);
    const progress = await queryProgress(handle);
    const tune = search?.tune ?? progress?.tune;
    const json = {
      ...runEndJson(view),
      workflowType: view.workflowType,
      progress,
      ...(search?.tune ? { tune: search.tune } : {}),
    };
    printResult(opts, json, () => {
      const last = progress?.training.epochs.at(-1);
      const running = view.status === 'RUNNING';
      return [
        running
          ? `${workflowId}: ${view.status}${progress?.current ? `, running ${progress.current}` : ''}`
          : describeRunEnd(view),
        progress ? `\n${stepsTable(progress.steps)}` : '',
        last && running ? `\ntraining: epoch ${last.epoch}/${last.epochs}, ${describeEpoch(last)}` : '',
        tune
          ? `\nsearch (${tune.method}, rung ${tune.rung + 1} of ${tune.rungs.length}, ` +
            `at most ${tune.parallel} at once):\n${trialsTable(tune.trials, tune.best)}`
          : '',
        progress?.review ? `\n${describeAwaitingReview({ awaitingReview: true, workflowId, progress })}` : '',
      ]
        .filter(Boolean)
        .join('\n');
    });
  } finally {
    await session.close();
  }
}

function printCompleted(view: RunView, opts: { json?: boolean }, search?: SearchView): void {
  const common = { status: view.status, exitCode: exitCodeFor(view.outcome) };
  switch (view.workflowType) {
    case 'trainToDeploy': {
      const result = view.result as PipelineResult;
      printResult(opts, { ...pipelineJson(result), ...common }, () => describePipeline(result));
      return;
    }
    case 'tuneToDeploy': {
      const result = view.result as TuneResult;
      const trials = search?.tune?.trials ?? result.tune.trials;
      printResult(opts, { ...tuneJson(result, trials), ...common }, () => describeTune(result, trials));
      return;
    }
    case 'trainAnomaly': {
      const result = view.result as AnomalyRunResult;
      printResult(opts, { ...anomalyRunJson(result), ...common }, () => describeAnomalyRun(result));
      return;
    }
    case 'importModel': {
      const result = view.result as ImportResult;
      printResult(opts, { ...importJson(result), ...common }, () => describeImport(result));
      return;
    }
    case 'scheduledRetrain': {
      const result = view.result as ScheduledRetrainResult;
      printResult(opts, { workflowId: view.workflowId, ...result, ...common }, () =>
        result.outcome === 'skipped'
          ? `${view.workflowId}: skipped (${result.reason})`
          : `${view.workflowId}: ${result.outcome}, ${result.model} v${result.version} (pipeline ${result.pipelineWorkflowId}: \`slipway status ${result.pipelineWorkflowId}\` shows it)`,
      );
      return;
    }
    default:
      printResult(
        opts,
        { workflowId: view.workflowId, ...common, result: view.result },
        () => `${view.workflowId}: ${view.status}\n${JSON.stringify(view.result, null, 2)}`,
      );
  }
}
