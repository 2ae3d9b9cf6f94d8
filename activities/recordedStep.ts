import type { z } from 'zod';
import type { StepCacheInfo } from '../contracts/progress';
import type { ArtifactInput } from '../domain/lineage/schema';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { cachedStep } from './cachedStep';
import type { ActivityDeps } from './deps';
import { recordStepLineage } from './lineageRecorder';

export interface RecordedStepOptions<T> {
  step: string;
  /** Settings that change the output; part of the cache key, hashed into lineage. */
  params: unknown;
  /** Input artifacts by role ("snapshot", "scaler"...), in the order the cache key uses. */
  inputs: Record<string, ArtifactRef>;
  /** Output artifacts of a result, by role. */
  outputs: (output: T) => Record<string, ArtifactRef>;
  /** Inputs only known from the result (e.g. the source bytes extraction read). */
  resultInputs?: (output: T) => Record<string, ArtifactInput>;
  cache: { enabled: boolean; schema: z.ZodType<T> };
}

/**
 * One pipeline step as every activity runs it: through the step cache, and recorded in lineage
 * as an execution with its inputs and outputs, whether it ran, was reused or failed.
 */
export async function recordedStep<T extends object>(
  deps: ActivityDeps,
  options: RecordedStepOptions<T>,
  compute: () => Promise<T>,
): Promise<T & { cache: StepCacheInfo }> {
  const startedAt = new Date().toISOString();
  const base = { step: options.step, params: options.params, inputs: options.inputs, startedAt };
  let result: T & { cache: StepCacheInfo };
  try {
    result = await cachedStep(
      deps,
      {
        step: options.step,
        enabled: options.cache.enabled,
        inputs: Object.values(options.inputs),
        params: options.params,
        schema: options.cache.schema,
      },
      compute,
    );
  } catch (error) {
    await recordStepLineage(deps, { ...base, outcome: 'failed', error }).catch(() => {
      // The step's own error is what matters; a lineage write that fails too must not hide it.
    });
    throw error;
  }
  await recordStepLineage(deps, {
    ...base,
    inputs: { ...options.inputs, ...options.resultInputs?.(result) },
    outputs: options.outputs(result),
    outcome: result.cache.status === 'hit' ? 'cached' : 'succeeded',
    cache: result.cache,
  });
  return result;
}
