import type { Command } from 'commander';
import type { z } from 'zod';
import { startAnomalyRun } from '../application/start';
import {
  categoricalProblems,
  type GateSettingsInput,
  type TrainAnomalyInput,
  trainAnomalyInputSchema,
} from '../contracts/inputs';
import { parseDatasetSource } from '../domain/data/sourceUri';
import type { AnomalyRunResult } from '../workflows/trainAnomaly';
import { exitCodeFor } from './exitCodes';
import { type AwaitingReview, followRun } from './followRun';
import { numberOption } from './numberOption';
import { keyValueTable } from './output';
import { describeOutcome, stepsTable } from './pipelineRun';
import type { Session } from './session';
import { UsageError } from './usageError';

/** The options that choose and shape an anomaly model, shared by `run` and `schedule create`. */
export function addKindOptions(command: Command): Command {
  return command
    .option(
      '--kind <kind>',
      'classifier (default) or anomaly: a dense autoencoder scored by reconstruction error; its ONNX gives ' +
        'anomaly_score (higher is more anomalous) and predicted_outlier (threshold - anomaly_score, negative for outliers)',
    )
    .option(
      '--contamination <share>',
      'anomaly: share of training rows the threshold flags (default 0.01)',
      numberOption('--contamination', { above: 0, below: 0.5 }),
    )
    .option(
      '--eval-label <column>',
      'anomaly: a 0/1 column used only to evaluate (ROC-AUC, PR-AUC, precision at k) and gate; never trained on',
    )
    .option(
      '--categorical <columns>',
      'comma-separated text features (computer, account, ...), frequency-encoded inside the exported graph, ' +
        'which takes them as string inputs; a category not seen in training scores as the rarest',
    );
}

/**
 * A classifier's --categorical against the rule every entry shares (categoricalProblems), before
 * anything starts: `run` and `schedule create` without -f (a pipeline file's is checked as it is read).
 */
export function checkCategoricalFlag(input: {
  categorical?: string[];
  features?: string[];
  target?: string;
}): void {
  const problems = categoricalProblems({ ...input, label: input.target });
  if (problems.length > 0) {
    throw new UsageError(
      `--categorical ${input.categorical?.join(',')}: ${problems.map((p) => p.message).join('; ')}.`,
    );
  }
}

export interface KindFlags {
  kind?: string;
  threshold?: number;
  classWeights?: string;
  contamination?: number;
  evalLabel?: string;
  categorical?: string;
}

/**
 * Options that mean nothing for the chosen kind are refused, not ignored: a threshold on a
 * probability or class weights do not apply to an autoencoder, nor a contamination rate to a
 * classifier. Returns the kind.
 */
export function checkKindOptions(opts: KindFlags): 'classifier' | 'anomaly' {
  const kind = opts.kind ?? 'classifier';
  if (kind !== 'classifier' && kind !== 'anomaly') {
    throw new UsageError(`--kind "${kind}" is not one of classifier, anomaly.`);
  }
  const misplaced =
    kind === 'anomaly'
      ? [
          opts.threshold !== undefined && '--threshold (the anomaly threshold comes from --contamination)',
          opts.classWeights !== undefined && '--class-weights (an autoencoder trains without labels)',
        ]
      : [
          opts.contamination !== undefined && '--contamination',
          opts.evalLabel !== undefined && '--eval-label',
        ];
  const given = misplaced.filter((m): m is string => typeof m === 'string');
  if (given.length > 0) {
    throw new UsageError(
      `${given.join(' and ')} ${given.length === 1 ? 'does' : 'do'} not apply to --kind ${kind}. ` +
        (kind === 'anomaly'
          ? 'Leave it out, or run without --kind anomaly to train a classifier.'
          : 'Add --kind anomaly to train an anomaly model, or leave it out.'),
    );
  }
  return kind;
}

/** An anomaly run's workflow input from the flags `run` and `schedule create` share. */
export function anomalyRunInput(
  flags: {
    source: string;
    model: string;
    features?: string;
    categorical?: string;
    evalLabel?: string;
    contamination?: number;
    epochs?: number;
    cache?: boolean;
  },
  createdBy: string,
  gate: GateSettingsInput,
): z.output<typeof trainAnomalyInputSchema> {
  return trainAnomalyInputSchema.parse({
    source: parseDatasetSource(flags.source).uri,
    modelName: flags.model,
    features: flags.features?.split(',').map((f) => f.trim()),
    categorical: flags.categorical?.split(',').map((f) => f.trim()),
    evalLabel: flags.evalLabel,
    contamination: flags.contamination,
    spec: flags.epochs === undefined ? {} : { epochs: flags.epochs },
    createdBy,
    cache: flags.cache,
    gate,
  } satisfies TrainAnomalyInput);
}

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
