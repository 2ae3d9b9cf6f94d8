import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type {
  EvaluationMetrics,
  ExportedOnnx,
  ExtractedDataset,
  PreparedData,
  RegisteredModel,
  SlipwayActivities,
  TrainedModel,
} from '../activities';
import type { GateDecision } from '../activities/evaluateGate';
import type { Promotion } from '../activities/promoteModel';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { type ReviewDecision, reviewGate } from './approval';
import { type TrainToDeployInput, trainToDeployInputSchema } from './inputs';
import { progressQuery, trainingEpochSignal } from './messages';
import { type PipelineProgress, type PipelineStep, pipelineSteps, type StepStatus } from './progress';
import { parseWorkflowInput } from './validation';

export { progressQuery } from './messages';
export type { PipelineProgress, PipelineStep, StepStatus, TrainingEpoch } from './progress';
export { pipelineSteps } from './progress';

export interface PipelineResult {
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
  /** The HTML evaluation report of this run. */
  report: ArtifactRef;
  /**
   * promoted: the alias now points at this version; blocked: the metric gate said no;
   * rejected / timed-out: the review said no, or nobody answered in time; registered: promotion
   * was not asked for; superseded: the alias moved while this run waited, so it was left alone.
   */
  outcome: 'promoted' | 'blocked' | 'rejected' | 'timed-out' | 'registered' | 'superseded';
  review?: ReviewDecision;
  promotion?: Promotion;
  steps: StepStatus[];
}

const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 10,
};
const light = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '5 minutes',
  retry,
});

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
    retry,
  }).trainModel;
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

  async function step<T>(name: PipelineStep, body: () => Promise<T>): Promise<T> {
    const status = progress.steps.find((s) => s.step === name) as StepStatus;
    progress.current = name;
    status.status = 'running';
    status.startedAt = Date.now(); // workflow time: deterministic on replay
    try {
      const result = await body();
      status.status = 'done';
      status.cache = (result as { cache?: { status: StepStatus['cache'] } }).cache?.status;
      return result;
    } catch (err) {
      status.status = 'failed';
      throw err;
    } finally {
      status.durationMs = Date.now() - status.startedAt;
    }
  }

  const dataset = await step('extract', () =>
    light.extractDataset({ source: params.source, target: params.target, features: params.features, cache }),
  );
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
  const { tp, fp, tn, fn, precision, recall, fpr, f1, rocAuc, prAuc } = evaluated.metrics;
  const metrics = { tp, fp, tn, fn, precision, recall, fpr, f1, rocAuc, prAuc };
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
          parity: { maxAbsDiff: onnx.parity.maxAbsDiff, rowsCompared: onnx.parity.rowsCompared },
          size: { bytes: onnx.size.bytes, base64Bytes: onnx.size.base64Bytes, limit: onnx.size.limitBytes },
        },
        workflowId: info.workflowId,
        runId: info.runId,
        createdBy: params.createdBy,
        sourceUri: dataset.sourceUri,
      },
    }),
  );
  const promotion = await reviewAndPromote(registered.version);
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
    report,
    ...promotion,
    steps: progress.steps,
  };

  /**
   * After registration: a blessed version is promoted, after a person's approval where the gate
   * settings ask for one. Every decision is recorded with the version before the alias moves.
   */
  async function reviewAndPromote(
    version: number,
  ): Promise<Pick<PipelineResult, 'outcome' | 'review' | 'promotion'>> {
    const skip = (...names: PipelineStep[]) => {
      for (const name of names)
        (progress.steps.find((s) => s.step === name) as StepStatus).status = 'skipped';
    };
    if (!gate.decision.blessed) {
      review.close(`the metric gate blocked version ${version}`);
      skip('review', 'promote');
      return { outcome: 'blocked' };
    }
    if (!params.gate.promote) {
      review.close('this run registers without promoting (gate.promote is false)');
      skip('review', 'promote');
      return { outcome: 'registered' };
    }
    let decision: ReviewDecision | undefined;
    if (params.gate.review.required) {
      decision = await step('review', async () => {
        progress.review = {
          model: params.modelName,
          version,
          approvers: params.gate.review.approvers,
          requestedBy: params.createdBy,
          deadline: Date.now() + params.gate.review.timeoutSeconds * 1000,
        };
        try {
          return await review.wait({
            model: params.modelName,
            version,
            approvers: params.gate.review.approvers,
            requestedBy: params.createdBy,
            timeoutMs: params.gate.review.timeoutSeconds * 1000,
          });
        } finally {
          progress.review = undefined;
        }
      });
      await light.recordReview({
        name: params.modelName,
        version,
        decision: decision.decision,
        approver: decision.approver,
        reason: decision.reason,
        timedOut: decision.timedOut,
        workflowId: info.workflowId,
        runId: info.runId,
      });
      if (decision.decision === 'rejected') {
        skip('promote');
        return { outcome: decision.timedOut ? 'timed-out' : 'rejected', review: decision };
      }
    } else {
      review.close('this run promotes without review (gate.review.required is false)');
      skip('review');
    }
    const promoted = await step('promote', () =>
      light.promoteModel({
        name: params.modelName,
        version,
        alias: params.gate.alias,
        // The champion the gate compared with: if the alias moved since, this version was not
        // judged against what it would replace, and is not promoted.
        expectedCurrent: gate.decision.champion?.version ?? null,
        actor: decision?.approver ?? params.createdBy,
        reason: decision ? `approved: ${decision.reason}` : 'passed the metric gate',
        idempotencyKey: `${info.workflowId}/${info.runId}/promote`,
      }),
    );
    return {
      outcome: promoted.promoted ? 'promoted' : 'superseded',
      ...(decision ? { review: decision } : {}),
      promotion: promoted,
    };
  }
}
