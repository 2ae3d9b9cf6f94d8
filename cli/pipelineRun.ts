import { randomUUID } from 'node:crypto';
import { MultiBar, Presets } from 'cli-progress';
import type { TrainToDeployInput } from '../workflows/inputs';
import type { ReleaseOutcome } from '../workflows/release';
import {
  type PipelineProgress,
  type PipelineResult,
  pipelineSteps,
  progressQuery,
  type TrainingEpoch,
} from '../workflows/trainToDeploy';
import { keyValueTable, table } from './output';
import type { Session } from './session';

/** A run that stopped to wait for a person: the command returns, the workflow waits on. */
export interface AwaitingReview {
  awaitingReview: true;
  workflowId: string;
  progress: PipelineProgress;
}

/**
 * Starts trainToDeploy and follows it until it ends, or (unless `waitForReview`) until it waits
 * for a person. With `live`, shows the steps and a progress bar over epochs on stderr while it
 * runs (stdout stays clean for --json).
 */
export async function runPipeline(
  session: Session,
  input: TrainToDeployInput,
  options: { live: boolean; workflowIdPrefix?: string; waitForReview?: boolean },
): Promise<PipelineResult | AwaitingReview> {
  const workflowId = `${options.workflowIdPrefix ?? 'train'}-${input.modelName}-${randomUUID().slice(0, 8)}`;
  const handle = await session.client.workflow.start('trainToDeploy', {
    taskQueue: session.config.taskQueue,
    workflowId,
    args: [{ ...input, trainingTaskQueue: session.config.trainingTaskQueue }],
  });
  process.stderr.write(`slipway: started ${workflowId}\n`);
  const live = options.live && process.stderr.isTTY;
  const bars = live
    ? new MultiBar(
        {
          format: ' {step} [{bar}] {value}/{total} {detail}',
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        Presets.shades_classic,
      )
    : undefined;
  const stepsBar = bars?.create(pipelineSteps.length, 0, { step: 'steps ', detail: '' });
  const epochBar = bars?.create(input.spec?.epochs ?? 50, 0, { step: 'epochs', detail: '' });
  let finished = false;
  const result = handle.result().finally(() => {
    finished = true;
  }) as Promise<PipelineResult>;
  try {
    for (;;) {
      const outcome = await Promise.race([
        result,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000)),
      ]);
      if (outcome) {
        stepsBar?.update(pipelineSteps.length, { detail: outcome.outcome });
        epochBar?.setTotal(outcome.epochsRun);
        epochBar?.update(outcome.epochsRun);
        return outcome;
      }
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (!progress || finished) continue;
      const ended = progress.steps.filter((s) => s.status === 'done' || s.status === 'skipped').length;
      stepsBar?.update(ended, { detail: progress.current ?? '' });
      const last = progress.training.epochs.at(-1);
      if (last) epochBar?.update(last.epoch, { detail: describeEpoch(last) });
      if (progress.review && !options.waitForReview) {
        stepsBar?.update(ended, { detail: 'waiting for review' });
        return { awaitingReview: true, workflowId, progress };
      }
    }
  } finally {
    bars?.stop();
  }
}

/** What to tell a person when a run waits for review. */
export function describeAwaitingReview(waiting: AwaitingReview): string {
  const review = waiting.progress.review;
  if (!review) return `${waiting.workflowId} waits for review.`;
  return [
    `${review.model} version ${review.version} passed the metric gate and waits for review by one of: ${review.approvers.join(', ')}`,
    `(not ${review.requestedBy}, who started it), until ${new Date(review.deadline).toISOString()}.`,
    '',
    `  slipway approve ${waiting.workflowId} --as <name> --reason "<why>"`,
    `  slipway reject ${waiting.workflowId} --as <name> --reason "<why>"`,
    `  slipway status ${waiting.workflowId}`,
  ].join('\n');
}

/** One line about an epoch: training loss and the held-out figures people watch. */
export function describeEpoch(e: TrainingEpoch): string {
  const parts = [`loss ${e.loss.toExponential(3)}`];
  if (e.valLoss !== undefined) parts.push(`val loss ${e.valLoss.toExponential(3)}`);
  if (e.valRecall !== undefined) parts.push(`recall ${e.valRecall.toFixed(3)}`);
  if (e.valFpr !== undefined) parts.push(`FPR ${(100 * e.valFpr).toFixed(2)} %`);
  parts.push(`${Math.round(e.samplesPerSecond)} samples/s`);
  return parts.join(', ');
}

/** The JSON a script gets from `demo --json` and `run --json`. */
export function pipelineJson(result: PipelineResult) {
  const { tp, fp, tn, fn, precision, recall, fpr, f1, rocAuc, prAuc } = result.metrics;
  return {
    workflowId: result.workflowId,
    runId: result.runId,
    model: result.model,
    version: result.version,
    outcome: result.outcome,
    gate: result.gate,
    ...(result.review ? { review: result.review } : {}),
    ...(result.promotion ? { promotion: result.promotion } : {}),
    backend: result.backend,
    epochsRun: result.epochsRun,
    metrics: { tp, fp, tn, fn, precision, recall, fpr, f1, rocAuc, prAuc },
    report: { uri: result.report.uri, sha256: result.report.sha256 },
    onnx: {
      uri: result.onnx.onnx.uri,
      sha256: result.onnx.onnx.sha256,
      bytes: result.onnx.size.bytes,
      base64Bytes: result.onnx.size.base64Bytes,
      maxAbsDiff: result.onnx.parity.maxAbsDiff,
      onnxBoundUsed: result.onnx.parity.onnx?.boundUsed,
      trainerBoundUsed: result.onnx.parity.trainer?.boundUsed,
    },
    dataset: {
      uri: result.dataset.snapshot.uri,
      sha256: result.dataset.snapshot.sha256,
      rows: result.dataset.rows,
    },
    steps: result.steps.map((s) => ({
      step: s.step,
      status: s.status,
      seconds: (s.durationMs ?? 0) / 1000,
      cache: s.cache,
    })),
  };
}

export function describePipeline(result: PipelineResult): string {
  const m = result.metrics;
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  return [
    `Registered ${result.model} version ${result.version} (workflow ${result.workflowId}): ${describeOutcome(result)}`,
    '',
    stepsTable(result.steps),
    '',
    keyValueTable([
      [
        'rows',
        `${result.dataset.rows} (${result.prepared.trainRows} train, ${result.prepared.testRows} held out)`,
      ],
      ['backend', result.backend],
      [
        'epochs',
        `${result.epochsRun}${result.resumedFromEpoch ? ` (resumed after epoch ${result.resumedFromEpoch})` : ''}`,
      ],
      ['confusion', `TP ${m.tp}  FP ${m.fp}  TN ${m.tn}  FN ${m.fn}`],
      ['precision', m.precision.toFixed(3)],
      ['recall', m.recall.toFixed(3)],
      ['false-positive rate', pct(m.fpr)],
      ['ROC-AUC / PR-AUC', `${m.rocAuc.toFixed(4)} / ${m.prAuc.toFixed(4)}`],
      ...result.gate.checks.map((c): [string, string] => [
        c.passed ? 'gate: passed' : 'gate: FAILED',
        c.message,
      ]),
      ['report', result.report.uri],
      ['ONNX', `${result.onnx.onnx.uri}`],
      [
        'ONNX size',
        `${result.onnx.size.bytes} bytes, ${result.onnx.size.base64Bytes} after base64 (limit ${result.onnx.size.limitBytes})`,
      ],
      [
        'ONNX parity',
        `max |difference| ${result.onnx.parity.maxAbsDiff.toExponential(2)} over ${result.onnx.parity.rowsCompared} rows` +
          (result.onnx.parity.onnx && result.onnx.parity.trainer
            ? `; worst error ${(100 * result.onnx.parity.onnx.boundUsed).toFixed(2)} % of its float32 bound ` +
              `(onnxruntime), ${(100 * result.onnx.parity.trainer.boundUsed).toFixed(2)} % (trainer)`
            : ''),
      ],
    ]),
  ].join('\n');
}

/** The step list as a table: status, duration and whether the outputs came from the cache. */
export function stepsTable(steps: PipelineProgress['steps']): string {
  return table(
    ['step', 'status', 'seconds', 'cache'],
    steps.map((s) => [
      s.step,
      s.status,
      s.durationMs === undefined ? '' : (s.durationMs / 1000).toFixed(1),
      s.cache === 'hit' ? 'reused' : (s.cache ?? ''),
    ]),
  );
}

/** One line on what happened to the version after registration. */
export function describeOutcome(result: ReleaseOutcome & { model: string }): string {
  const alias = result.promotion?.alias ?? 'production';
  switch (result.outcome) {
    case 'promoted':
      return `promoted to ${alias}${result.promotion?.previous ? ` (replacing v${result.promotion.previous}; \`slipway rollback ${result.model}\` undoes it)` : ''}`;
    case 'blocked':
      return 'blocked by the metric gate; production did not move';
    case 'rejected':
      return `rejected by ${result.review?.approver} (${result.review?.reason}); production did not move`;
    case 'timed-out':
      return 'nobody reviewed it before the deadline, which counts as a rejection; production did not move';
    case 'registered':
      return 'registered only (promotion was not asked for)';
    case 'superseded':
      return `not promoted: ${result.promotion?.note ?? `${alias} moved while this run waited`}`;
  }
}
