import { z } from 'zod';

/**
 * The metric gate, in the spirit of TFX's Evaluator "blessing": a new version is blessed when it
 * meets every absolute threshold set for its model and is not worse than the current champion
 * (the version behind the production alias, scored on the same held-out rows) by more than a
 * margin on one key metric. Every check is recorded with its figures, passed or not.
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
    .default({ keyMetric: 'prAuc', maxRegression: 0.01 }),
});
export type MetricGateSettings = z.infer<typeof metricGateSettingsSchema>;
export type MetricGateSettingsInput = z.input<typeof metricGateSettingsSchema>;

export type GateMetrics = Record<GateMetric, number>;

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
  candidate: GateMetrics;
  /** Absent when the alias points nowhere yet (the first version of a model). */
  champion?: { version: number; metrics: GateMetrics } | { version: number; notComparable: string };
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
  return { blessed: checks.every((c) => c.passed), checks, ...(champion ? { champion } : {}) };
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
