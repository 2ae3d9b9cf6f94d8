import { startAnomalyRun } from '../application/start';
import type { TrainAnomalyInput } from '../contracts/inputs';
import type { AnomalyRunResult } from '../workflows/trainAnomaly';
import { exitCodeFor } from './exitCodes';
import { type AwaitingReview, followRun } from './followRun';
import { keyValueTable } from './output';
import { describeOutcome, stepsTable } from './pipelineRun';
import type { Session } from './session';

/** Starts an anomaly run and follows it to its result, or (unless `waitForReview`) to its review. */
export async function runAnomaly(
  session: Session,
  input: TrainAnomalyInput,
  options: { live: boolean; waitForReview?: boolean; onStart(workflowId: string): void },
): Promise<AnomalyRunResult | AwaitingReview> {
  const handle = await startAnomalyRun(session, input);
  process.stderr.write(`slipway: started ${handle.workflowId}\n`);
  options.onStart(handle.workflowId);
  return followRun(session, handle, {
    live: options.live,
    epochs: input.spec?.epochs ?? 40,
    waitForReview: options.waitForReview,
  });
}

export function anomalyRunJson(result: AnomalyRunResult) {
  return {
    workflowId: result.workflowId,
    runId: result.runId,
    model: result.model,
    version: result.version,
    kind: 'anomaly',
    outcome: result.outcome,
    exitCode: exitCodeFor(result.outcome),
    gate: result.gate,
    ...(result.review ? { review: result.review } : {}),
    ...(result.promotion ? { promotion: result.promotion } : {}),
    threshold: result.trained.threshold,
    evaluation: result.evaluation.summary,
    metrics: result.evaluation.metrics,
    onnx: {
      uri: result.onnx.onnx.uri,
      sha256: result.onnx.onnx.sha256,
      bytes: result.onnx.size.bytes,
      base64Bytes: result.onnx.size.base64Bytes,
      parity: result.onnx.parity,
    },
    steps: result.steps.map((s) => ({
      step: s.step,
      status: s.status,
      durationMs: s.durationMs,
      cache: s.cache,
    })),
  };
}

export function describeAnomalyRun(result: AnomalyRunResult): string {
  const m = result.evaluation.metrics;
  const { summary } = result.evaluation;
  const q = (p: number) => summary.quantiles.find((x) => x.q === p)?.score.toPrecision(4) ?? '?';
  return [
    `${result.model} version ${result.version} (anomaly: dense autoencoder, ${result.trained.epochsRun} epochs)`,
    '',
    keyValueTable([
      ['threshold', `${summary.threshold.toPrecision(6)} (anomaly_score above it is an outlier)`],
      [
        'flagged',
        `${(summary.flaggedShare.train * 100).toFixed(2)} % of training rows, ${(summary.flaggedShare.test * 100).toFixed(2)} % of held-out rows`,
      ],
      ['held-out scores', `median ${q(0.5)}, p90 ${q(0.9)}, p99 ${q(0.99)}, max ${q(1)}`],
      [
        'against the label',
        m
          ? `ROC-AUC ${m.rocAuc.toFixed(3)}, PR-AUC ${m.prAuc.toFixed(3)}, recall ${m.recall.toFixed(3)}, precision ${m.precision.toFixed(3)}`
          : 'not evaluated',
      ],
      [
        'export parity',
        `max |onnx - exact| ${result.onnx.parity.maxAbsDiff.toExponential(2)} on ${result.onnx.parity.rowsCompared} rows`,
      ],
      ['gate', result.gate.checks.map((c) => c.message).join('; ')],
      ['outcome', describeOutcome(result)],
    ]),
    '',
    stepsTable(result.steps),
  ].join('\n');
}
