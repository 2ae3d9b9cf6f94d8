import type { z } from 'zod';
import type { ExtractedDataset, PreparedData, TrainedModel } from '../activities';
import type { trainToDeployInputSchema } from '../contracts/inputs';
import type { PipelineProgress } from '../contracts/progress';
import { modelMetricsOf } from '../domain/ml/metrics';
import type { ModelSpec } from '../domain/ml/modelSpec';
import type { ModelVersionDraft } from '../domain/registry/metadata';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { DecidedAnomaly } from '../domain/validation/anomalyPolicy';
import { lightStepsFor, reviewAndPromote, sizeRecord, splitRecord, type stepTracker } from './release';
import type { reviewGate } from './review';
import type { PipelineResult } from './trainToDeploy';

/** A run whose model is trained: what the steps after training need to know. */
export interface TrainedRun {
  params: z.output<typeof trainToDeployInputSchema>;
  info: { workflowId: string; runId: string };
  progress: PipelineProgress;
  step: ReturnType<typeof stepTracker>;
  review: ReturnType<typeof reviewGate>;
  gateSettings: z.output<typeof trainToDeployInputSchema>['gate'];
  dataValidation?: { champion?: number; note?: string; anomalies: DecidedAnomaly[] };
  dataset: ExtractedDataset;
  prepared: PreparedData;
  trained: TrainedModel;
  /** The spec and class weights the model was trained with (a search's best trial's, for a tune). */
  spec: ModelSpec;
  classWeights: z.output<typeof trainToDeployInputSchema>['classWeights'];
  /** The search the model won (slipway tune): recorded with the version. */
  tuning?: { summary: NonNullable<ModelVersionDraft['tuning']>; record: ArtifactRef };
}

/** A run's own parts and what prepareRun gave it: all releaseTrained needs but the model. */
type RunParts = Pick<TrainedRun, 'params' | 'info' | 'progress' | 'step' | 'review'>;
type Prepared = Pick<TrainedRun, 'dataset' | 'prepared' | 'gateSettings'> & {
  dataValidation?: TrainedRun['dataValidation'];
};

/**
 * The release of a model trained on a prepared run (trainToDeploy's, or a search's best trial
 * with `tuning`): one call shape for both, the class weights always the run's.
 */
export function releaseModel(
  run: RunParts,
  ready: Prepared,
  model: Pick<TrainedRun, 'trained' | 'spec' | 'tuning'>,
): Promise<PipelineResult> {
  return releaseTrained({
    ...run,
    gateSettings: ready.gateSettings,
    ...(ready.dataValidation ? { dataValidation: ready.dataValidation } : {}),
    dataset: ready.dataset,
    prepared: ready.prepared,
    trained: model.trained,
    spec: model.spec,
    classWeights: run.params.classWeights,
    ...(model.tuning ? { tuning: model.tuning } : {}),
  });
}

/**
 * Everything after training, as every trained classifier goes: evaluate, export (parity-gated),
 * the metric gate, the report, registration as one new version, review and promotion. Shared by
 * trainToDeploy and tuneToDeploy, so a tuned version passes exactly the path a run's does.
 */
export async function releaseTrained(run: TrainedRun): Promise<PipelineResult> {
  const { dataset, prepared, trained, step } = run;
  const light = lightStepsFor(run.params);
  const cache = run.params.cache;
  const modelRefs = {
    snapshot: dataset.snapshot,
    split: prepared.split,
    scaler: prepared.scaler,
    model: trained.model,
    target: run.params.target,
    spec: run.spec,
  };
  const evaluated = await step('evaluate', () =>
    light.evaluateModel({ ...modelRefs, threshold: run.params.threshold, cache }),
  );
  const onnx = await step('export', () =>
    light.exportOnnx({
      ...modelRefs,
      modelName: run.params.modelName,
      threshold: run.params.threshold,
      datasetSha256: dataset.snapshot.sha256,
      runId: run.info.runId,
      opset: run.params.opset,
      sizeLimitBytes: run.params.sizeLimitBytes,
      cache,
    }),
  );
  const metrics = modelMetricsOf(evaluated.metrics);
  const gate = await step('gate', () =>
    light.evaluateGate({
      modelName: run.params.modelName,
      alias: run.params.gate.alias,
      settings: run.params.gate.metric,
      candidate: metrics,
      heldOut: {
        snapshot: dataset.snapshot,
        split: prepared.split,
        target: run.params.target,
        // Only with categorical features: the dictionaries that decode the codes for a champion taking text.
        ...(run.params.categorical ? { summary: dataset.summary } : {}),
      },
      trainingData: dataset.snapshot,
    }),
  );
  const { report } = await step('report', () =>
    light.renderReport({
      model: run.params.modelName,
      backend: trained.backend.name,
      evaluation: evaluated.evaluation,
      history: trained.history,
      balance: {
        trainRows: prepared.trainRows,
        trainPositives: prepared.trainPositives,
        testRows: prepared.testRows,
        testPositives: prepared.testPositives,
      },
      gate: gate.decision,
      datasetSummary: dataset.summary,
      ...(evaluated.importance ? { importance: evaluated.importance } : {}),
      ...(gate.decision.champion && gate.championEvaluation
        ? { champion: { version: gate.decision.champion.version, evaluation: gate.championEvaluation } }
        : {}),
    }),
  );
  const registered = await step('register', () =>
    light.registerModel({
      name: run.params.modelName,
      draft: {
        features: dataset.features,
        target: run.params.target,
        threshold: run.params.threshold,
        metrics,
        gate: gate.decision,
        training: {
          modelSpec: run.spec,
          classWeights: { mode: run.classWeights, weights: trained.classWeights },
          split: splitRecord(run.params.split, prepared),
          epochsRun: trained.epochsRun,
          // Only with categorical features, so other runs register what they always did.
          ...(prepared.categorical ? { categorical: prepared.categorical } : {}),
        },
        backend: trained.backend.name,
        backendDetails: trained.backend.details,
        artifacts: {
          dataset: dataset.snapshot,
          datasetSummary: dataset.summary,
          scaler: prepared.scaler,
          model: trained.model,
          onnx: onnx.onnx,
          evaluation: evaluated.evaluation,
          ...(evaluated.importance ? { importance: evaluated.importance } : {}),
          report,
          ...(run.tuning ? { tuning: run.tuning.record } : {}),
        },
        onnx: {
          parity: {
            maxAbsDiff: onnx.parity.maxAbsDiff,
            rowsCompared: onnx.parity.rowsCompared,
            rowsJudged: onnx.parity.rowsJudged,
            // Runs recorded before the exact-arithmetic gate carry no bound shares (replay).
            onnxBoundUsed: onnx.parity.onnx?.boundUsed,
            trainerBoundUsed: onnx.parity.trainer?.boundUsed,
          },
          size: sizeRecord(onnx.size),
        },
        workflowId: run.info.workflowId,
        runId: run.info.runId,
        createdBy: run.params.createdBy,
        sourceUri: dataset.sourceUri,
        ...(run.dataValidation ? { dataValidation: run.dataValidation } : {}),
        ...(run.params.pipelineFile ? { pipelineFile: run.params.pipelineFile } : {}),
        ...(run.tuning ? { tuning: run.tuning.summary } : {}),
      },
    }),
  );
  const promotion = await reviewAndPromote(
    {
      progress: run.progress,
      step,
      review: run.review,
      modelName: run.params.modelName,
      createdBy: run.params.createdBy,
      gateSettings: run.gateSettings,
      gate: gate.decision,
      workflowId: run.info.workflowId,
      runId: run.info.runId,
    },
    registered.version,
  );
  run.progress.current = undefined;
  const { history, ...trainedSummary } = trained;
  return {
    workflowId: run.info.workflowId,
    runId: run.info.runId,
    model: registered.name,
    version: registered.version,
    backend: trained.backend.name,
    epochsRun: trained.epochsRun,
    resumedFromEpoch: trained.resumedFromEpoch,
    metrics: evaluated.metrics,
    dataset,
    prepared,
    trained: { ...trainedSummary, finalLoss: history[history.length - 1]?.loss ?? Number.NaN },
    onnx,
    registered,
    gate: gate.decision,
    ...(run.dataValidation ? { dataValidation: run.dataValidation } : {}),
    report,
    ...promotion,
    steps: run.progress.steps,
  };
}
