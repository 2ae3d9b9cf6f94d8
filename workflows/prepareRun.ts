import type { z } from 'zod';
import type { trainToDeployInputSchema } from '../contracts/inputs';
import type { PipelineProgress } from '../contracts/progress';
import { validateIfPatched } from './dataValidation';
import { lightStepsFor, type stepTracker } from './release';

/** What the steps before training read of a run's settings: a classifier's, or an anomaly run's. */
type RunData = Pick<
  z.output<typeof trainToDeployInputSchema>,
  | 'source'
  | 'target'
  | 'features'
  | 'categorical'
  | 'cache'
  | 'modelName'
  | 'gate'
  | 'split'
  | 'stepHeartbeatTimeoutSeconds'
>;

/** How a kind of run prepares: its validate step's patched() marker, and whether its data has a label. */
export interface PrepareKind {
  validationPatch: string;
  /** Extract without a target column (an anomaly run without --eval-label). */
  unlabelled?: boolean;
}

const CLASSIFIER_RUN: PrepareKind = { validationPatch: 'data-validation' };

/**
 * The steps before training, shared by every run (trainToDeploy, tuneToDeploy, trainAnomaly):
 * extract, validation against the champion's training data, split and scale. Extract and transform
 * go through the step cache, so a search and a run on the same data and settings reuse them.
 */
export async function prepareRun(
  params: RunData,
  progress: PipelineProgress,
  step: ReturnType<typeof stepTracker>,
  kind: PrepareKind = CLASSIFIER_RUN,
) {
  const cache = params.cache;
  const light = lightStepsFor(params);
  // Only when given, so the activity inputs of runs without categorical features stay as they were.
  const categorical = params.categorical ? { categorical: params.categorical } : {};
  const dataset = await step('extract', () =>
    kind.unlabelled
      ? light.extractUnlabelled({ source: params.source, features: params.features, ...categorical, cache })
      : light.extractDataset({
          source: params.source,
          target: params.target,
          features: params.features,
          ...categorical,
          cache,
        }),
  );
  // Validation against the champion's training data: added after histories were recorded, so
  // runs that started before it replay without the activity.
  const { dataValidation, gateSettings } = await validateIfPatched(kind.validationPatch, step, progress, {
    modelName: params.modelName,
    gate: params.gate,
    summary: dataset.summary,
    sourceUri: dataset.sourceUri,
  });
  const prepared = await step('transform', () =>
    light.prepareData({
      snapshot: dataset.snapshot,
      // The dictionaries the categorical encoding is fitted over.
      ...(params.categorical ? { summary: dataset.summary } : {}),
      target: params.target,
      split: params.split,
      cache,
    }),
  );
  return { dataset, dataValidation, gateSettings, prepared };
}
