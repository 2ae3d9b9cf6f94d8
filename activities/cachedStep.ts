import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { codeVersion } from '../config/codeVersion';
import type { StepCacheInfo } from '../contracts/progress';
import { StepCache, stepCacheKey } from '../domain/cache/stepCache';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';

export interface CachedStepOptions<T> {
  step: string;
  enabled: boolean;
  inputs: readonly ArtifactRef[];
  params: unknown;
  schema: z.ZodType<T>;
}

/**
 * Runs `compute` unless an earlier successful execution with the same code version, input
 * artifacts and parameters recorded its output, in which case that output is returned. A cache
 * problem (unreadable entry, missing artifact) only ever means "run the step".
 */
export async function cachedStep<T extends object>(
  deps: ActivityDeps,
  options: CachedStepOptions<T>,
  compute: () => Promise<T>,
): Promise<T & { cache: StepCacheInfo }> {
  if (!options.enabled) return { ...(await compute()), cache: { status: 'off' } };
  const context = Context.current();
  const cache = new StepCache(deps.store);
  const key = stepCacheKey({
    step: options.step,
    codeVersion: codeVersion(),
    inputs: options.inputs,
    params: options.params,
  });
  const found = await cache.lookup(options.step, key, options.schema);
  if (found.hit) {
    context.log.info(`${options.step}: reusing cached outputs (key ${key.slice(0, 12)})`);
    return { ...found.output, cache: { status: 'hit', key, reusedFrom: found.origin } };
  }
  context.log.info(`${options.step}: cache miss (${found.reason}); running the step`);
  const output = await compute();
  const { workflowId, runId } = context.info.workflowExecution ?? {};
  await cache.record(options.step, key, output, {
    origin: { workflowId, runId, recordedAt: new Date().toISOString() },
    schema: options.schema,
  });
  return { ...output, cache: { status: 'miss', key } };
}
