import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { z } from 'zod';
import type { trainToDeployInputSchema } from '../contracts/inputs';
import type { PipelineProgress, StepStatus } from '../contracts/progress';
import { type DecidedAnomaly, decideAnomalies, describeAnomalies } from '../domain/validation/anomalyPolicy';
import { light, type stepTracker } from './release';

type RunParams = z.output<typeof trainToDeployInputSchema>;

/**
 * The steps before training, shared by every classifier run (trainToDeploy, tuneToDeploy): extract,
 * validation against the champion's training data, split and scale. Extract and transform go through
 * the step cache, so a search and a run on the same data and settings reuse them.
 */
export async function prepareRun(
  params: RunParams,
  progress: PipelineProgress,
  step: ReturnType<typeof stepTracker>,
) {
  const cache = params.cache;
  const dataset = await step('extract', () =>
    light.extractDataset({ source: params.source, target: params.target, features: params.features, cache }),
  );
  // Validation against the champion's training data: added after histories were recorded, so
  // runs that started before it replay without the activity.
  let dataValidation: { champion?: number; note?: string; anomalies: DecidedAnomaly[] } | undefined;
  let gateSettings: z.output<typeof trainToDeployInputSchema>['gate'] = params.gate;
  if (patched('data-validation')) {
    const checked = await step('validate', () =>
      light.validateData({ modelName: params.modelName, alias: params.gate.alias, summary: dataset.summary }),
    );
    const decided = decideAnomalies(checked.anomalies, params.gate.data);
    dataValidation = { ...checked, anomalies: decided.anomalies };
    if (decided.outcome === 'fail') {
      const failing = decided.anomalies.filter((a) => a.policy === 'fail');
      throw ApplicationFailure.nonRetryable(
        `Data validation failed: ${dataset.sourceUri} against the training data of ${params.modelName} ` +
          `v${checked.champion}: ${describeAnomalies(failing)}. Fix the source, or set gate.data ` +
          '(--on-anomaly review|warn) if the change is intended.',
        'DataValidationFailed',
        { champion: checked.champion, anomalies: decided.anomalies },
      );
    }
    // A finding under the review policy: the version waits for a person even if the gate would not ask.
    if (decided.outcome === 'review') {
      gateSettings = { ...params.gate, review: { ...params.gate.review, required: true } };
    }
  } else {
    (progress.steps.find((s) => s.step === 'validate') as StepStatus).status = 'skipped';
  }
  const prepared = await step('transform', () =>
    light.prepareData({ snapshot: dataset.snapshot, target: params.target, split: params.split, cache }),
  );
  return { dataset, dataValidation, gateSettings, prepared };
}
