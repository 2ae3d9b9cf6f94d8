import type {
  EvaluatedAnomalyModel,
  ExportedAnomalyOnnx,
  ExtractedDataset,
  PreparedData,
  RegisteredModel,
  TrainedAnomalyModel,
} from '../activities';
import type { GateDecision } from '../activities/gate';
import { type TrainAnomalyInput, trainAnomalyInputSchema } from '../contracts/inputs';
import { type PipelineProgress, pipelineSteps, type StepStatus } from '../contracts/progress';
import { NO_LABEL_COLUMN } from '../domain/data/noLabel';
import { notEvaluatedGate } from '../domain/gate/metricGate';
import {
  ANOMALY_CONVENTION,
  ANOMALY_SCORE_OUTPUT,
  ANOMALY_TARGET,
  PREDICTED_OUTLIER_OUTPUT,
} from '../domain/import/anomalyConvention';
import { modelMetricsOf } from '../domain/ml/metrics';
import type { TrainingDataValidation } from './dataValidation';
import { startPipeline } from './pipelineStart';
import { prepareRun } from './prepareRun';
import { light, type ReleaseOutcome, reviewAndPromote, sizeRecord, splitRecord } from './release';
import { parseWorkflowInput } from './validation';

export interface AnomalyRunResult extends ReleaseOutcome {
  workflowId: string;
  runId: string;
  model: string;
  version: number;
  dataset: ExtractedDataset;
  prepared: PreparedData;
  trained: Omit<TrainedAnomalyModel, 'history'> & { finalLoss: number; epochsRun: number };
  evaluation: EvaluatedAnomalyModel;
  onnx: ExportedAnomalyOnnx;
  registered: RegisteredModel;
  gate: GateDecision;
  /** The training data checked against the champion's (absent in runs started before the check). */
  dataValidation?: TrainingDataValidation;
  steps: StepStatus[];
}

/**
 * An anomaly version from raw data: extract, validate against the champion's training data, split and scale, train a dense autoencoder (no
 * target), evaluate (score distribution and threshold; against --eval-label when given), export
 * to ONNX behind its parity gate, gate, register, review, promote. The same registry, gates,
 * review, lineage and audit as a classifier's run.
 */
export async function trainAnomaly(input: TrainAnomalyInput): Promise<AnomalyRunResult> {
  const params = parseWorkflowInput(trainAnomalyInputSchema, input, 'trainAnomaly');
  const { info, progress, review, step } = startPipeline(pipelineSteps);
  const { cache } = params;
  const labelled = params.evalLabel !== undefined;
  const label = params.evalLabel ?? NO_LABEL_COLUMN;

  // The classifier's steps before training, on the label (--eval-label) or none; its validate step was
  // added after anomaly runs had histories, under its own marker, so those replay without it.
  const { dataset, dataValidation, gateSettings, prepared } = await prepareRun(
    { ...params, target: label },
    progress,
    step,
    { validationPatch: 'anomaly-data-validation', unlabelled: !labelled },
  );
  const data = { snapshot: dataset.snapshot, split: prepared.split, scaler: prepared.scaler, label };
  const trained = await step('train', () =>
    light.trainAnomalyModel({ ...data, spec: params.spec, contamination: params.contamination, cache }),
  );
  progress.training.epochs = trained.history.map((e) => ({
    epoch: e.epoch,
    loss: e.loss,
    attempt: 0,
  })) as PipelineProgress['training']['epochs'];
  const evaluation = await step('evaluate', () =>
    light.evaluateAnomalyModel({
      ...data,
      model: trained.model,
      threshold: trained.threshold,
      contamination: params.contamination,
      labelled,
      cache,
    }),
  );
  const onnx = await step('export', () =>
    light.exportAnomalyOnnx({
      ...data,
      model: trained.model,
      threshold: trained.threshold,
      modelName: params.modelName,
      runId: info.runId,
      sizeLimitBytes: params.sizeLimitBytes,
      cache,
    }),
  );
  const metrics = evaluation.metrics ? modelMetricsOf(evaluation.metrics) : undefined;
  const gate = metrics
    ? (
        await step('gate', () =>
          light.evaluateGate({
            modelName: params.modelName,
            alias: params.gate.alias,
            settings: params.gate.metric,
            candidate: metrics,
            heldOut: { snapshot: dataset.snapshot, split: prepared.split, target: label },
            trainingData: dataset.snapshot,
          }),
        )
      ).decision
    : await step('gate', async () => notEvaluatedGate());
  (progress.steps.find((s) => s.step === 'report') as StepStatus).status = 'skipped';
  const registered = await step('register', () =>
    light.registerModel({
      name: params.modelName,
      draft: {
        features: dataset.features,
        target: ANOMALY_TARGET,
        kind: 'anomaly',
        threshold: trained.threshold,
        anomaly: {
          scoreOutput: ANOMALY_SCORE_OUTPUT,
          outlierOutput: PREDICTED_OUTLIER_OUTPUT,
          convention: ANOMALY_CONVENTION,
          contamination: params.contamination,
          thresholdFrom: 'contamination',
          ...(prepared.categorical ? { categorical: prepared.categorical } : {}),
        },
        ...(metrics ? { metrics } : {}),
        gate,
        autoencoder: {
          hidden: trained.spec.hidden,
          activation: 'tanh',
          loss: 'meanSquaredError',
          epochs: trained.spec.epochs,
          batchSize: trained.spec.batchSize,
          learningRate: trained.spec.learningRate,
          seed: trained.spec.seed,
          split: splitRecord(params.split, prepared),
          epochsRun: trained.history.length,
          finalLoss: trained.history.at(-1)?.loss ?? Number.NaN,
        },
        backend: 'autoencoder-float64',
        backendDetails:
          'dense autoencoder, mean squared reconstruction error, plain TypeScript float64 (one core)',
        artifacts: {
          dataset: dataset.snapshot,
          datasetSummary: dataset.summary,
          scaler: prepared.scaler,
          model: trained.model,
          onnx: onnx.onnx,
          evaluation: evaluation.evaluation,
          ...(evaluation.importance ? { importance: evaluation.importance } : {}),
        },
        onnx: {
          size: sizeRecord(onnx.size),
        },
        workflowId: info.workflowId,
        runId: info.runId,
        createdBy: params.createdBy,
        sourceUri: dataset.sourceUri,
        ...(dataValidation ? { dataValidation } : {}),
      },
    }),
  );
  const release = await reviewAndPromote(
    {
      progress,
      step,
      review,
      modelName: params.modelName,
      createdBy: params.createdBy,
      gateSettings,
      gate,
      workflowId: info.workflowId,
      runId: info.runId,
    },
    registered.version,
  );
  progress.current = undefined;
  const { history, ...trainedSummary } = trained;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    model: registered.name,
    version: registered.version,
    dataset,
    prepared,
    trained: { ...trainedSummary, finalLoss: history.at(-1)?.loss ?? Number.NaN, epochsRun: history.length },
    evaluation,
    onnx,
    registered,
    gate,
    ...(dataValidation ? { dataValidation } : {}),
    ...release,
    steps: progress.steps,
  };
}
