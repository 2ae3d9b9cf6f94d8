import type { PipelineResult, ReleaseOutcome } from '../application/results';
import { startPipeline } from '../application/start';
import type { TrainToDeployInput } from '../contracts/inputs';
import type { PipelineProgress } from '../contracts/progress';
import { modelMetricsOf } from '../domain/ml/metrics';
import { exitCodeFor } from './exitCodes';
import { type AwaitingReview, followRun } from './followRun';
import { keyValueTable, table } from './output';
import type { Session } from './session';

export type { AwaitingReview } from './followRun';
export { describeEpoch } from './followRun';

/**
 * Starts trainToDeploy and follows it until it ends, or (unless `waitForReview`) until it waits
 * for a person. With `live`, shows its progress on stderr while it runs (stdout stays clean for
 * --json): bars on a terminal, a line per step and per epoch otherwise.
 */
export async function runPipeline(
  session: Session,
  input: TrainToDeployInput,
  options: {
    live: boolean;
    workflowIdPrefix?: string;
    waitForReview?: boolean;
    /** Told the workflow ID once the run has started (to report its failure by ID). */
    onStart?(workflowId: string): void;
  },
): Promise<PipelineResult | AwaitingReview> {
  const handle = await startPipeline(session, input, options.workflowIdPrefix);
  const { workflowId } = handle;
  process.stderr.write(`slipway: started ${workflowId}\n`);
  options.onStart?.(workflowId);
  return followRun(session, handle, {
    live: options.live,
    epochs: input.spec?.epochs ?? 50,
    waitForReview: options.waitForReview,
  });
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

/** The JSON a script gets from `demo --json` and `run --json`. */
export function pipelineJson(result: PipelineResult) {
  return {
    workflowId: result.workflowId,
    runId: result.runId,
    model: result.model,
    version: result.version,
    outcome: result.outcome,
    exitCode: exitCodeFor(result.outcome),
    gate: result.gate,
    ...(result.review ? { review: result.review } : {}),
    ...(result.promotion ? { promotion: result.promotion } : {}),
    backend: result.backend,
    epochsRun: result.epochsRun,
    metrics: modelMetricsOf(result.metrics),
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
              `(onnxruntime), ${(100 * result.onnx.parity.trainer.boundUsed).toFixed(2)} % (trainer)` +
              (result.onnx.parity.rowsJudged !== undefined &&
              result.onnx.parity.rowsJudged < result.onnx.parity.rowsCompared
                ? `, exact model on ${result.onnx.parity.rowsJudged} selected rows`
                : '')
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
