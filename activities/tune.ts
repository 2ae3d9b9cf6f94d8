import type { TuneProgress } from '../contracts/progress';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { serializeDocument } from '../domain/storage/jsonDocument';
import type { ActivityDeps } from './deps';
import { recordStepLineage } from './lineageRecorder';

/** A finished search as the version records it (artifacts.tuning): every trial, its settings, curve and end. */
export interface TuningRecord extends TuneProgress {
  /** The parent workflow; each trial's training ran in the child workflows its trial lists. */
  workflowId: string;
  runId: string;
  /** What was searched: the space as given. */
  space: Record<string, unknown>;
  /** The held-out rows every trial was ranked on (the split of the run). */
  split: ArtifactRef;
}

/**
 * Stores a search's record as one artifact and records the search in lineage as the step `tune`,
 * which read every trial's trained model: from the registered version (artifacts.tuning) a person
 * reaches every trial, and from each trial's model the child workflow that trained it.
 */
export function recordTuningActivity(deps: ActivityDeps) {
  return async function recordTuning(params: { record: TuningRecord }): Promise<{ record: ArtifactRef }> {
    const startedAt = new Date().toISOString();
    const ref = await deps.store.put(Buffer.from(serializeDocument(params.record), 'utf8'), {
      kind: 'tuning',
      mediaType: 'application/json',
      extension: '.json',
    });
    const models = Object.fromEntries(
      params.record.trials.flatMap((t) =>
        t.model ? [[`trial-${String(t.trial).padStart(2, '0')}`, t.model] as const] : [],
      ),
    );
    await recordStepLineage(deps, {
      step: 'tune',
      params: {
        method: params.record.method,
        seed: params.record.seed,
        space: params.record.space,
        rungs: params.record.rungs,
        best: params.record.best,
      },
      inputs: { split: params.record.split, ...models },
      outputs: { tuning: ref },
      startedAt,
      outcome: 'succeeded',
    });
    return { record: ref };
  };
}
