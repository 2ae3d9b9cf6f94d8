import type { z } from 'zod';
import type { trainToDeployInputSchema } from '../contracts/inputs';
import type { PipelineProgress } from '../contracts/progress';
import { validateIfPatched } from './dataValidation';
import { lightStepsFor, type stepTracker } from './release';

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
  const light = lightStepsFor(params);
  // Only when given, so the activity inputs of runs without categorical features stay as they were.
  const categorical = params.categorical ? { categorical: params.categorical } : {};
  const dataset = await step('extract', () =>
    light.extractDataset({
      source: params.source,
      target: params.target,
      features: params.features,
      ...categorical,
      cache,
    }),
  );
  // Validation against the champion's training data: added after histories were recorded, so
  // runs that started before it replay without the activity.
  const { dataValidation, gateSettings } = await validateIfPatched('data-validation', step, progress, {
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
