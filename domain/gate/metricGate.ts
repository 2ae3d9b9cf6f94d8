import { z } from 'zod';
import type { ModelMetrics } from '../ml/metrics';
import { type DriftGateInput, driftCheckOn, driftGateChecks, driftGateSettingsSchema } from './driftGate';

/**
 * The metric gate, in the spirit of TFX's Evaluator "blessing": a new version is blessed when it
 * meets every absolute threshold set for its model and is not worse than the current champion
 * (the version behind the production alias, scored on the same held-out rows) by more than a
 * margin on one key metric. Every check is recorded with its figures, passed or not.
 *
 * With no absolute thresholds set, the baseline stands in for them, so no version worse than a
 * trivial scorer is ever promoted by default (a champion that is itself weak does not lower it):
 * - ranking: its PR-AUC must beat the constant scorer's, which is the positive rate p, by a tenth
 *   of the way to a perfect ranking: PR-AUC >= p + 0.1 * (1 - p);
 * - at its threshold: its positive likelihood ratio, recall / false-positive rate, must be at
 *   least 10. A flagged row then has at least ten times the base odds of being a positive (the
 *   threshold rule of thumb for "strong evidence"). A scorer that flags rows at random has 1 and
 *   "predict all negative" flags nothing (recall 0), so both fail; so does any version with a
 *   false-positive rate above 10 %, whatever its recall.
 * Setting any threshold (--min-recall, --max-fpr, ...) replaces the baseline with the team's own
 * limits; `baseline` in the gate settings changes its margins.
 */
export const gateMetricNames = ['recall', 'precision', 'fpr', 'f1', 'rocAuc', 'prAuc'] as const;
export type GateMetric = (typeof gateMetricNames)[number];

/** Lower is better only for the false-positive rate. */
const lowerIsBetter: Record<GateMetric, boolean> = {
  recall: false,
  precision: false,
  fpr: true,
  f1: false,
  rocAuc: false,
  prAuc: false,
};

const fraction = z.number().min(0).max(1);

/** The baseline's margins (see above), documented in the README's "Promotion gates". */
export const BASELINE_DEFAULTS = { prAucMargin: 0.1, minLikelihoodRatio: 10 } as const;

export const metricGateSettingsSchema = z.object({
  /** Absolute limits; an unset one is not checked. */
  thresholds: z
    .object({
      minRecall: fraction.optional(),
      minPrecision: fraction.optional(),
      maxFpr: fraction.optional(),
      minF1: fraction.optional(),
      minRocAuc: fraction.optional(),
      minPrAuc: fraction.optional(),
    })
    .strict()
    .default({}),
  /** The challenger may trail the champion on `keyMetric` by at most `maxRegression` (absolute). */
  champion: z
    .object({
      keyMetric: z.enum(gateMetricNames).default('prAuc'),
      maxRegression: z.number().min(0).max(1).default(0.01),
    })
    .strict()
    .prefault({}),
  /** The default bar when no thresholds are set: beat the trivial scorers by these margins. */
  baseline: z
    .object({
      /** Share of the way from the constant scorer's PR-AUC (the positive rate) to 1. */
      prAucMargin: fraction.default(BASELINE_DEFAULTS.prAucMargin),
      /** Lowest recall / false-positive rate at the decision threshold. */
      minLikelihoodRatio: z.number().min(1).default(BASELINE_DEFAULTS.minLikelihoodRatio),
    })
    .strict()
    .prefault({}),
  /** Off unless a limit is set: per feature, the candidate's training data against the champion's (driftGate.ts). */
  drift: driftGateSettingsSchema.prefault({}),
});
export type MetricGateSettings = z.infer<typeof metricGateSettingsSchema>;

export type GateMetrics = Pick<ModelMetrics, GateMetric>;
/** A version's figures with the confusion counts they come from (the baseline needs the positive rate). */
export type GateCandidate = ModelMetrics;

export interface GateCheck {
  /** e.g. "minRecall" or "champion.prAuc". */
  check: string;
  passed: boolean;
  actual?: number;
  limit?: number;
  message: string;
}

export interface GateChampion {
  version: number;
  /** False when the champion could not be scored on this data (the reason is in the check). */
  comparable: boolean;
  metrics?: GateMetrics;
}

export interface GateDecision {
  blessed: boolean;
  checks: GateCheck[];
  champion?: GateChampion;
}

const thresholdChecks: Array<{
  key: keyof MetricGateSettings['thresholds'];
  metric: GateMetric;
  label: string;
}> = [
  { key: 'minRecall', metric: 'recall', label: 'recall' },
  { key: 'minPrecision', metric: 'precision', label: 'precision' },
  { key: 'maxFpr', metric: 'fpr', label: 'false-positive rate' },
  { key: 'minF1', metric: 'f1', label: 'F1' },
  { key: 'minRocAuc', metric: 'rocAuc', label: 'ROC-AUC' },
  { key: 'minPrAuc', metric: 'prAuc', label: 'PR-AUC' },
];

const show = (v: number) => v.toFixed(4);

export function evaluateMetricGate(input: {
  settings: MetricGateSettings;
  candidate: GateCandidate;
  /** Absent when the alias points nowhere yet (the first version of a model). */
  champion?: { version: number; metrics: GateMetrics } | { version: number; notComparable: string };
  /** The per-feature drift the drift check judges, when settings.drift sets a limit. */
  drift?: DriftGateInput;
}): GateDecision {
  const { settings, candidate } = input;
  const checks: GateCheck[] = [];
  for (const { key, metric, label } of thresholdChecks) {
    const limit = settings.thresholds[key];
    if (limit === undefined) continue;
    const actual = candidate[metric];
    const passed = lowerIsBetter[metric] ? actual <= limit : actual >= limit;
    const relation = lowerIsBetter[metric] ? (passed ? '<=' : '>') : passed ? '>=' : '<';
    const need = lowerIsBetter[metric] ? 'at most' : 'at least';
    checks.push({
      check: key,
      passed,
      actual,
      limit,
      message: `${label} ${show(actual)} ${relation} ${show(limit)}${passed ? '' : ` (needs ${need} ${show(limit)})`}`,
    });
  }

  const thresholdsSet = thresholdChecks.some(({ key }) => settings.thresholds[key] !== undefined);
  if (!thresholdsSet) checks.push(...baselineChecks(candidate, settings.baseline));

  const { keyMetric, maxRegression } = settings.champion;
  const check = `champion.${keyMetric}`;
  let champion: GateChampion | undefined;
  if (!input.champion) {
    checks.push({ check, passed: true, message: 'no champion yet: nothing to compare with' });
  } else if ('notComparable' in input.champion) {
    champion = { version: input.champion.version, comparable: false };
    checks.push({
      check,
      passed: true,
      message: `champion v${input.champion.version} not compared: ${input.champion.notComparable}`,
    });
  } else {
    const { version, metrics } = input.champion;
    champion = { version, comparable: true, metrics };
    const ours = candidate[keyMetric];
    const theirs = metrics[keyMetric];
    // Positive = the challenger is worse, whichever direction the metric improves in.
    const regression = lowerIsBetter[keyMetric] ? ours - theirs : theirs - ours;
    const passed = regression <= maxRegression + 1e-12;
    checks.push({
      check,
      passed,
      actual: ours,
      limit: lowerIsBetter[keyMetric] ? theirs + maxRegression : theirs - maxRegression,
      message:
        `${keyMetric} ${show(ours)} vs champion v${version} ${show(theirs)} on the same held-out rows` +
        (passed
          ? regression > 0
            ? ` (worse by ${show(regression)}, within the margin ${show(maxRegression)})`
            : ''
          : ` (worse by ${show(regression)}, more than the margin ${show(maxRegression)})`),
    });
  }
  if (driftCheckOn(settings.drift)) {
    checks.push(
      ...driftGateChecks(
        settings.drift,
        input.drift ?? { skipped: input.champion ? 'no training data to compare with' : 'no champion yet' },
      ),
    );
  }
  return { blessed: checks.every((c) => c.passed), checks, ...(champion ? { champion } : {}) };
}

/**
 * The baseline: better than the constant scorer at ranking, and at the threshold better than
 * flagging rows at random or flagging none (see the top of this file).
 */
export function baselineChecks(
  candidate: GateCandidate,
  baseline: MetricGateSettings['baseline'],
): GateCheck[] {
  const positives = candidate.tp + candidate.fn;
  const rows = positives + candidate.fp + candidate.tn;
  if (positives === 0 || rows === positives) {
    return [
      {
        check: 'baseline',
        passed: false,
        message:
          `the held-out rows hold ${positives === 0 ? 'no positives' : 'no negatives'}, so nothing shows the version ` +
          'beats a trivial scorer: evaluate on data with both classes, or set thresholds of your own',
      },
    ];
  }
  const p = positives / rows;
  const prAucLimit = p + baseline.prAucMargin * (1 - p);
  const prAucPassed = candidate.prAuc >= prAucLimit;
  const margin = `${Math.round(100 * baseline.prAucMargin)} % of the way to 1`;
  const { recall, fpr } = candidate;
  const ratio = recall === 0 ? 0 : fpr === 0 ? Number.POSITIVE_INFINITY : recall / fpr;
  const ratioPassed = ratio >= baseline.minLikelihoodRatio;
  const shownRatio = Number.isFinite(ratio) ? ratio.toFixed(1) : 'unbounded (no false positives)';
  return [
    {
      check: 'baseline.prAuc',
      passed: prAucPassed,
      actual: candidate.prAuc,
      limit: prAucLimit,
      message:
        `PR-AUC ${show(candidate.prAuc)} ${prAucPassed ? '>=' : '<'} ${show(prAucLimit)}: the constant scorer's ` +
        `${show(p)} (the positive rate) plus ${margin}${prAucPassed ? '' : ' (no better than a trivial scorer at ranking)'}`,
    },
    {
      check: 'baseline.likelihoodRatio',
      passed: ratioPassed,
      ...(Number.isFinite(ratio) ? { actual: ratio } : {}),
      limit: baseline.minLikelihoodRatio,
      message:
        recall === 0
          ? 'recall 0 at the threshold: it flags no positive row, no better than predicting all negative'
          : `recall / false-positive rate ${show(recall)} / ${show(fpr)} = ${shownRatio} ` +
            `${ratioPassed ? '>=' : '<'} ${baseline.minLikelihoodRatio}` +
            (ratioPassed
              ? ''
              : ` (too many false alarms for what it finds: a flagged row is only ${shownRatio}x as likely to be positive, in odds, as any row)`),
    },
  ];
}

/**
 * The gate's verdict on a version that came with no labelled data (an import without --eval):
 * nothing to measure, so nothing blocks it here, and the record says so; the workflow requires a
 * person's approval instead.
 */
export function notEvaluatedGate(): GateDecision {
  return {
    blessed: true,
    checks: [
      {
        check: 'evaluation',
        passed: true,
        message: 'not evaluated: no labelled data was given, so a person must approve it',
      },
    ],
  };
}

/** Why the gate blocked a version: the messages of the checks it failed, for lists and tooltips. */
export function blockedBy(checks: ReadonlyArray<{ passed: boolean; message: string }>): string {
  return checks
    .filter((c) => !c.passed)
    .map((c) => c.message)
    .join('; ');
}
