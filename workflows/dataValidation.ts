import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { z } from 'zod';
import type { gateSettingsSchema } from '../contracts/inputs';
import type { PipelineProgress, StepStatus } from '../contracts/progress';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { type DecidedAnomaly, decideAnomalies, describeAnomalies } from '../domain/validation/anomalyPolicy';
import { light, type stepTracker } from './release';

export type GateSettings = z.output<typeof gateSettingsSchema>;

/** What the validate step found, as the version's metadata and the run's result record it. */
export interface TrainingDataValidation {
  champion?: number;
  note?: string;
  anomalies: DecidedAnomaly[];
}

/**
 * The validate step: the new snapshot's summary against the champion's training data, with the
 * gate's policy applied. A `fail` finding fails the run (non-retryable, naming column and figures);
 * a `review` finding makes the version wait for a person even where the gate would not ask, so the
 * gate settings the release then uses come back with it. Callers guard it with their own patched()
 * marker, since it added a step to workflows that already had histories.
 */
export async function validateTrainingData(
  step: ReturnType<typeof stepTracker>,
  input: { modelName: string; gate: GateSettings; summary: ArtifactRef; sourceUri: string },
): Promise<{ dataValidation: TrainingDataValidation; gateSettings: GateSettings }> {
  const checked = await step('validate', () =>
    light.validateData({ modelName: input.modelName, alias: input.gate.alias, summary: input.summary }),
  );
  const decided = decideAnomalies(checked.anomalies, input.gate.data);
  const dataValidation = { ...checked, anomalies: decided.anomalies };
  if (decided.outcome === 'fail') {
    const failing = decided.anomalies.filter((a) => a.policy === 'fail');
    throw ApplicationFailure.nonRetryable(
      `Data validation failed: ${input.sourceUri} against the training data of ${input.modelName} ` +
        `v${checked.champion}: ${describeAnomalies(failing)}. Fix the source, or set gate.data ` +
        '(--on-anomaly review|warn) if the change is intended.',
      'DataValidationFailed',
      { champion: checked.champion, anomalies: decided.anomalies },
    );
  }
  const gateSettings =
    decided.outcome === 'review'
      ? { ...input.gate, review: { ...input.gate.review, required: true } }
      : input.gate;
  return { dataValidation, gateSettings };
}

/**
 * The validate step behind the caller's patched() marker: runs that started before the workflow had
 * the step replay without it, and their progress shows it skipped, with the gate settings unchanged.
 */
export async function validateIfPatched(
  patchId: string,
  step: ReturnType<typeof stepTracker>,
  progress: PipelineProgress,
  input: { modelName: string; gate: GateSettings; summary: ArtifactRef; sourceUri: string },
): Promise<{ dataValidation?: TrainingDataValidation; gateSettings: GateSettings }> {
  if (patched(patchId)) return validateTrainingData(step, input);
  (progress.steps.find((s) => s.step === 'validate') as StepStatus).status = 'skipped';
  return { gateSettings: input.gate };
}
