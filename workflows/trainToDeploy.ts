import { ApplicationFailure, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type {
  EvaluationMetrics,
  ExportedOnnx,
  ExtractedDataset,
  PreparedData,
  RegisteredModel,
  SlipwayActivities,
  TrainedModel,
} from '../activities';
import type { GateDecision } from '../activities/gate';
import { type TrainToDeployInput, trainToDeployInputSchema } from '../contracts/inputs';
import { progressQuery, trainingEpochSignal } from '../contracts/messages';
import { type PipelineProgress, pipelineSteps, type StepStatus } from '../contracts/progress';
import { modelMetricsOf } from '../domain/ml/metrics';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { type DecidedAnomaly, decideAnomalies, describeAnomalies } from '../domain/validation/anomalyPolicy';
import { light as lightSteps, type ReleaseOutcome, reviewAndPromote, stepTracker } from './release';
import { activityRetry } from './retryPolicy';
import { reviewGate } from './review';
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
  // Training runs on its own queue, so heavy workers can scale apart from light ones.
  const training = proxyActivities<SlipwayActivities>({
    taskQueue: params.trainingTaskQueue,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: params.trainingHeartbeatTimeoutSeconds * 1000,
    retry: activityRetry,
  }).trainModel;
  // The steps before the review. A run may shorten their heartbeat timeout, so a worker that died
  // in one is noticed sooner than after the default five minutes (the fault suite does).
  const light =
    params.stepHeartbeatTimeoutSeconds === undefined
      ? lightSteps
      : proxyActivities<SlipwayActivities>({
          startToCloseTimeout: '30 minutes',
          heartbeatTimeout: params.stepHeartbeatTimeoutSeconds * 1000,
          retry: activityRetry,
        });
  const info = workflowInfo();
  const progress: PipelineProgress = {
    steps: pipelineSteps.map((step) => ({ step, status: 'pending' })),
    training: { epochs: [] },
  };
  setHandler(progressQuery, () => progress);
  setHandler(trainingEpochSignal, (epoch) => {
    // A resumed attempt reports from its checkpoint on; an epoch seen twice keeps the latest.
    const epochs = progress.training.epochs.filter((e) => e.epoch < epoch.epoch);
    epochs.push(epoch);
    progress.training.epochs = epochs;
  });
  const cache = params.cache;
  // Registered now, so an approval sent too early is refused with a reason instead of buffered.
  const review = reviewGate();

  const step = stepTracker(progress);

  const dataset = await step('extract', () =>
    light.extractDataset({ source: params.source, target: params.target, features: params.features, cache }),
  );
  // Validation against the champion's training data: added after histories were recorded, so
  // runs that started before it replay without the activity.
  let dataValidation: { champion?: number; note?: string; anomalies: DecidedAnomaly[] } | undefined;
  let gateSettings = params.gate;
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
  const modelRefs = {
    snapshot: dataset.snapshot,
    split: prepared.split,
    scaler: prepared.scaler,
    model: trained.model,
    target: params.target,
    spec: params.spec,
  };
  const evaluated = await step('evaluate', () =>
    light.evaluateModel({ ...modelRefs, threshold: params.threshold, cache }),
  );
  const onnx = await step('export', () =>
    light.exportOnnx({
      ...modelRefs,
      modelName: params.modelName,
      threshold: params.threshold,
      datasetSha256: dataset.snapshot.sha256,
      runId: info.runId,
      opset: params.opset,
      sizeLimitBytes: params.sizeLimitBytes,
      cache,
    }),
  );
  const metrics = modelMetricsOf(evaluated.metrics);
  const gate = await step('gate', () =>
    light.evaluateGate({
      modelName: params.modelName,
      alias: params.gate.alias,
      settings: params.gate.metric,
      candidate: metrics,
      heldOut: { snapshot: dataset.snapshot, split: prepared.split, target: params.target },
    }),
  );
  const { report } = await step('report', () =>
    light.renderReport({
      model: params.modelName,
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
      ...(gate.decision.champion && gate.championEvaluation
        ? { champion: { version: gate.decision.champion.version, evaluation: gate.championEvaluation } }
        : {}),
    }),
  );
  const registered = await step('register', () =>
    light.registerModel({
      name: params.modelName,
      draft: {
        features: dataset.features,
        target: params.target,
        threshold: params.threshold,
        metrics,
        gate: gate.decision,
        training: {
          modelSpec: params.spec,
          classWeights: { mode: params.classWeights, weights: trained.classWeights },
          split: {
            testFraction: params.split.testFraction,
            seed: params.split.seed,
            stratified: params.split.stratify,
            trainRows: prepared.trainRows,
            testRows: prepared.testRows,
          },
          epochsRun: trained.epochsRun,
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
          report,
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
          size: { bytes: onnx.size.bytes, base64Bytes: onnx.size.base64Bytes, limit: onnx.size.limitBytes },
        },
        workflowId: info.workflowId,
        runId: info.runId,
        createdBy: params.createdBy,
        sourceUri: dataset.sourceUri,
        ...(dataValidation ? { dataValidation } : {}),
        ...(params.pipelineFile ? { pipelineFile: params.pipelineFile } : {}),
      },
    }),
  );
  const promotion = await reviewAndPromote(
    {
      progress,
      step,
      review,
      modelName: params.modelName,
      createdBy: params.createdBy,
      gateSettings,
      gate: gate.decision,
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
    ...(dataValidation ? { dataValidation } : {}),
    report,
    ...promotion,
    steps: progress.steps,
  };
}
