import type {
  EvaluationMetrics,
  ExportedOnnx,
  ExtractedDataset,
  PreparedData,
  RegisteredModel,
  TrainedModel,
} from '../activities';
import type { GateDecision } from '../activities/gate';
import { type TrainToDeployInput, trainToDeployInputSchema } from '../contracts/inputs';
import { pipelineSteps, type StepStatus } from '../contracts/progress';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { DecidedAnomaly } from '../domain/validation/anomalyPolicy';
import { startPipeline } from './pipelineStart';
import { prepareRun } from './prepareRun';
import type { ReleaseOutcome } from './release';
import { releaseModel } from './releaseTrained';
import { followTrainingEpochs, trainingActivity } from './training';
import { parseWorkflowInput } from './validation';

export interface PipelineResult extends ReleaseOutcome {
  workflowId: string;
  runId: string;
  model: string;
  version: number;
  backend: string;
  epochsRun: number;
  resumedFromEpoch: number;
  metrics: EvaluationMetrics;
  dataset: ExtractedDataset;
  prepared: PreparedData;
  trained: Omit<TrainedModel, 'history'> & { finalLoss: number };
  onnx: ExportedOnnx;
  registered: RegisteredModel;
  gate: GateDecision;
  /** The training data checked against the champion's (absent in runs started before the check). */
  dataValidation?: { champion?: number; note?: string; anomalies: DecidedAnomaly[] };
  /** The HTML evaluation report of this run. */
  report: ArtifactRef;
  steps: StepStatus[];
}

/**
 * The pipeline from raw data to a registered ONNX version: ExampleGen, Transform, Trainer,
 * Evaluator, ONNX export (parity-gated) and registration. History holds references and figures.
 */
export async function trainToDeploy(input: TrainToDeployInput): Promise<PipelineResult> {
  const params = parseWorkflowInput(trainToDeployInputSchema, input, 'trainToDeploy');
  const training = trainingActivity(params);
  const { info, progress, review, step } = startPipeline(pipelineSteps);
  followTrainingEpochs(progress.training);
  const cache = params.cache;

  const ready = await prepareRun(params, progress, step);
  const { dataset, prepared } = ready;
  const trained = await step('train', () =>
    training({
      snapshot: dataset.snapshot,
      split: prepared.split,
      scaler: prepared.scaler,
      target: params.target,
      spec: params.spec,
      classWeightMode: params.classWeights,
      cache,
    }),
  );
  progress.training.resumedFromEpoch = trained.resumedFromEpoch;
  if (trained.cache?.status === 'hit') {
    progress.training.epochs = trained.history.map((e) => ({ ...e, attempt: 0 }));
  }
  return releaseModel({ params, info, progress, step, review }, ready, { trained, spec: params.spec });
}
