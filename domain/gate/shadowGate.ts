import { z } from 'zod';
import { type ShadowScore, shadowTerms } from '../serving/shadow';
import type { GateCheck, GateDecision } from './metricGate';

/**
 * The shadow gate: before a version that has served in shadow is promoted over the champion, the
 * latest serve-report recorded for exactly that pair (the champion answering, the candidate in
 * shadow; `slipway serve-report --record`) must show enough shadowed requests, agreement of at
 * least `minAgreement` and a mean score difference of at most `maxMeanAbsDiff`. With no such
 * report the candidate is refused, saying how to make one: evidence that was never gathered does
 * not pass.
 *
 * The figures are in the units the report compared (domain/serving/shadow.ts shadowScoreSchema):
 * for classifiers, agreement of predicted labels and a probability difference (0 to 1); for
 * anomaly versions, agreement of outlier flags (predicted_outlier < 0) and an anomaly_score
 * difference, in the versions' own score units (unbounded), so `maxMeanAbsDiff` is a limit in those.
 */
export const shadowGateSettingsSchema = z
  .object({
    minAgreement: z.number().min(0).max(1).optional(),
    /** A probability (0 to 1) for classifiers; anomaly_score units for anomaly versions. */
    maxMeanAbsDiff: z.number().min(0).optional(),
    /** Fewer shadowed requests than this are not evidence. */
    minRequests: z.number().int().min(1).default(100),
  })
  .strict()
  .refine((s) => s.minAgreement !== undefined || s.maxMeanAbsDiff !== undefined, {
    message: 'the shadow gate needs minAgreement or maxMeanAbsDiff (or both)',
  });
export type ShadowGateSettings = z.infer<typeof shadowGateSettingsSchema>;

/** One recorded serve-report pair: what `serve-report --record` writes to the audit log. */
export interface RecordedShadowReport {
  /** The audit record's number and time, to name the evidence. */
  seq: number;
  at: string;
  primaryVersion: number;
  shadowVersion: number;
  shadowAlias: string;
  /** What the differences are of (absent in reports recorded before anomaly versions: probability). */
  score?: ShadowScore;
  requests: number;
  rows: number;
  agreement: number;
  meanAbsDiff: number;
  maxAbsDiff: number;
}

export function evaluateShadowGate(input: {
  model: string;
  settings: ShadowGateSettings;
  candidate: number;
  /** The version the alias points to now (undefined: none, so there is nothing it shadowed). */
  champion: number | undefined;
  alias: string;
  /** Every recorded report of the model, oldest first. */
  reports: readonly RecordedShadowReport[];
}): GateDecision {
  const { settings, candidate, champion, model, alias } = input;
  const report = input.reports
    .filter((r) => r.shadowVersion === candidate && r.primaryVersion === champion)
    .at(-1);
  if (champion === undefined || report === undefined) {
    const made = input.reports
      .filter((r) => r.shadowVersion === candidate)
      .map((r) => `v${r.primaryVersion}`);
    return {
      blessed: false,
      checks: [
        {
          check: 'shadow.report',
          passed: false,
          message:
            champion === undefined
              ? `${alias} of ${model} points to no version, so v${candidate} has shadowed nothing to compare with`
              : `no serve-report compares v${candidate} in shadow of ${alias}'s v${champion}` +
                `${made.length ? ` (there are reports against ${[...new Set(made)].join(', ')})` : ''}: serve it with ` +
                `\`slipway serve ${model}@${alias} --shadow <alias of v${candidate}>\`, then record the comparison with ` +
                '`slipway serve-report <shadow log> --record`',
        },
      ],
    };
  }
  const source = `serve-report of v${candidate} in shadow of v${champion} (audit #${report.seq}, ${report.at})`;
  const terms = shadowTerms(report.score);
  const checks: GateCheck[] = [
    {
      check: 'shadow.requests',
      passed: report.requests >= settings.minRequests,
      actual: report.requests,
      limit: settings.minRequests,
      message:
        `${report.requests} shadowed requests (${report.rows} rows) in the ${source}` +
        (report.requests >= settings.minRequests ? '' : `: fewer than the ${settings.minRequests} needed`),
    },
  ];
  if (settings.minAgreement !== undefined) {
    const passed = report.agreement >= settings.minAgreement;
    checks.push({
      check: 'shadow.agreement',
      passed,
      actual: report.agreement,
      limit: settings.minAgreement,
      message: `${terms.agreement} agree on ${pct(report.agreement)} of the shadowed rows ${passed ? '>=' : '<'} ${pct(settings.minAgreement)}`,
    });
  }
  if (settings.maxMeanAbsDiff !== undefined) {
    const limit = settings.maxMeanAbsDiff;
    // A probability difference cannot exceed 1: a larger limit would pass anything, so it is
    // refused as the wrong unit (an anomaly_score limit given for a classifier).
    const wrongUnit = (report.score ?? 'probability') === 'probability' && limit > 1;
    const passed = !wrongUnit && report.meanAbsDiff <= limit;
    checks.push({
      check: 'shadow.meanAbsDiff',
      passed,
      actual: report.meanAbsDiff,
      limit,
      message: wrongUnit
        ? `the limit ${limit} is not a probability difference (0 to 1), which is what this classifier's report compares; ` +
          'anomaly_score limits are for anomaly versions'
        : `mean ${terms.difference} ${report.meanAbsDiff.toExponential(3)} ${passed ? '<=' : '>'} ${limit.toExponential(3)}`,
    });
  }
  return { blessed: checks.every((c) => c.passed), checks };
}

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
