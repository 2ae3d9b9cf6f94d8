import {
  ApplicationFailure,
  executeChild,
  isCancellation,
  rootCause,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { TrainedModel } from '../activities';
import { type TuneToDeployInput, tuneToDeployInputSchema } from '../contracts/inputs';
import { pipelineSteps, type TrialProgress, type TuneProgress } from '../contracts/progress';
import { type ModelSpec, modelSpecSchema } from '../domain/ml/modelSpec';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { halvingPlan, type Rung, rankByObjective, rankRung } from '../domain/tune/halving';
import { applyToSpec, sampleTrials } from '../domain/tune/searchSpace';
import { startPipeline } from './pipelineStart';
import { inPool } from './pool';
import { prepareRun } from './prepareRun';
import { light } from './release';
import { releaseModel } from './releaseTrained';
import type { PipelineResult } from './trainToDeploy';
import { tuneTrial } from './tuneTrial';
import { parseWorkflowInput } from './validation';

export interface TuneResult extends PipelineResult {
  tune: TuneProgress & { best: number; record: ArtifactRef };
}

type Params = z.output<typeof tuneToDeployInputSchema>;

/** A trial as the search keeps it: what progress shows, plus the spec it trains and its last result. */
interface Trial extends TrialProgress {
  spec: ModelSpec;
  trained?: TrainedModel;
}

/**
 * `slipway tune`: extract, validate and transform once (cached, shared by every trial), then train
 * the trials as child workflows on the training task queue, at most `tune.parallel` at once, with
 * successive halving stopping the weak ones early when asked; the best trial (lowest validation
 * loss) then goes the way of every run: evaluate, export, gate, report, register as one version
 * whose lineage links every trial, review, promote.
 */
export async function tuneToDeploy(input: TuneToDeployInput): Promise<TuneResult> {
  const params = parseWorkflowInput(tuneToDeployInputSchema, input, 'tuneToDeploy');
  const { info, progress, review, step } = startPipeline(pipelineSteps, (p) =>
    p.tune ? { ...p, tune: publicView(p.tune) } : p,
  );

  const trials: Trial[] = sampleTrials(params.tune).map((settings, i) => ({
    trial: i + 1,
    settings,
    spec: applyToSpec(params.spec, settings),
    status: 'pending',
    epochsRun: 0,
    curve: [],
    workflowIds: [],
  }));
  const rungs: Rung[] =
    params.tune.method === 'halving'
      ? halvingPlan(trials.length, params.spec.epochs, params.tune.halving.eta, params.tune.halving.minEpochs)
      : [{ epochs: params.spec.epochs, trials: trials.length }];
  const tune: TuneProgress = {
    method: params.tune.method,
    parallel: params.tune.parallel,
    seed: params.tune.seed,
    rungs,
    rung: 0,
    trials,
  };
  progress.tune = tune;

  const ready = await prepareRun(params, progress, step);
  const { dataset, prepared } = ready;
  const shared = {
    snapshot: dataset.snapshot,
    split: prepared.split,
    scaler: prepared.scaler,
    target: params.target,
    classWeightMode: params.classWeights,
    cache: params.cache,
  };

  const best = await step('train', async () => {
    let active = trials;
    for (const [k, rung] of rungs.entries()) {
      tune.rung = k;
      await inPool(active, params.tune.parallel, (trial) => trainTrial(params, trial, k, rung, shared));
      const next = rungs[k + 1];
      if (!next) break;
      const ranking = rankRung(
        active.filter((t) => t.status !== 'failed').map((t) => ({ trial: t.trial, objective: t.objective })),
        next.trials,
        { rung: k + 1, epochs: rung.epochs, nextEpochs: next.epochs },
      );
      for (const stop of ranking.stopped) {
        const trial = trials[stop.trial - 1] as Trial;
        trial.status = 'stopped';
        trial.stopReason = stop.reason;
      }
      active = ranking.promoted.map((n) => trials[n - 1] as Trial);
      // Waiting for the next rung, not training.
      for (const t of active) t.status = 'pending';
    }
    const finished = trials.filter((t) => t.status === 'running' && t.trained);
    for (const t of finished) t.status = 'completed';
    const winner = rankByObjective(finished.map((t) => ({ trial: t.trial, objective: t.objective })))[0];
    if (!winner) {
      throw ApplicationFailure.nonRetryable(
        `Every trial of the search failed: ${trials.map((t) => `trial ${t.trial}: ${t.error ?? t.status}`).join('; ')}`,
        'TuneFailed',
      );
    }
    tune.best = winner.trial;
    return trials[winner.trial - 1] as Trial;
  });
  const trained = best.trained as TrainedModel;
  progress.training.epochs = trained.history.map((e) => ({ ...e, attempt: 0 }));

  const { record } = await light.recordTuning({
    record: {
      ...publicView(tune),
      workflowId: info.workflowId,
      runId: info.runId,
      space: params.tune.space,
      split: prepared.split,
    },
  });
  const result = await releaseModel({ params, info, progress, step, review }, ready, {
    trained,
    spec: best.spec,
    tuning: {
      summary: {
        workflowId: info.workflowId,
        method: params.tune.method,
        trials: trials.length,
        completed: trials.filter((t) => t.status === 'completed').length,
        stopped: trials.filter((t) => t.status === 'stopped').length,
        failed: trials.filter((t) => t.status === 'failed').length,
        bestTrial: best.trial,
        settings: best.settings,
        objective: best.objective as number,
      },
      record,
    },
  });
  return { ...result, tune: { ...publicView(tune), best: best.trial, record } };
}

/**
 * Trains one trial through rung `k` in a child workflow on the training queue: to the rung's epochs,
 * continuing from the trial's model of the rung before. A failed training marks the trial failed
 * (the search goes on without it); cancelling the search cancels its trials.
 */
async function trainTrial(
  params: Params,
  trial: Trial,
  k: number,
  rung: Rung,
  shared: Omit<Parameters<typeof tuneTrial>[0]['training'], 'spec'>,
): Promise<void> {
  const halving = params.tune.method === 'halving';
  const spec = modelSpecSchema.safeParse(halving ? { ...trial.spec, epochs: rung.epochs } : trial.spec);
  if (!spec.success) {
    trial.status = 'failed';
    trial.error = `its settings make no valid spec: ${spec.error.issues.map((i) => i.message).join('; ')}`;
    return;
  }
  const number = String(trial.trial).padStart(2, '0');
  const workflowId = `${workflowInfo().workflowId}-trial-${number}${halving ? `-rung-${k + 1}` : ''}`;
  trial.status = 'running';
  trial.workflowIds.push(workflowId);
  try {
    const trained = await executeChild(tuneTrial, {
      workflowId,
      taskQueue: params.trainingTaskQueue,
      args: [
        {
          trial: trial.trial,
          rung: k,
          training: { ...shared, spec: spec.data, ...(trial.model ? { resumeFrom: trial.model } : {}) },
          trainingTaskQueue: params.trainingTaskQueue,
          trainingHeartbeatTimeoutSeconds: params.trainingHeartbeatTimeoutSeconds,
        },
      ],
    });
    trial.trained = trained;
    trial.model = trained.model;
    trial.epochsRun = trained.epochsRun;
    trial.curve = trained.history.map((e) => ({ epoch: e.epoch, loss: e.loss, valLoss: e.valLoss }));
    trial.objective = trained.history[trained.history.length - 1]?.valLoss;
  } catch (err) {
    if (isCancellation(err)) throw err;
    trial.status = 'failed';
    trial.error = rootCause(err) ?? String(err);
  }
}

/** The search without the trials' specs and training results (which are in the trials' own histories). */
function publicView(tune: TuneProgress): TuneProgress {
  return {
    ...tune,
    trials: tune.trials.map(({ spec: _spec, trained: _trained, ...t }: Partial<Trial>) => t as TrialProgress),
  };
}
