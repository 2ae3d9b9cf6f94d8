import { z } from 'zod';
import type { DatasetSummary } from '../data/summary';

/**
 * ExampleValidator: a new snapshot's summary checked against the schema and statistics of the
 * data the champion was trained on. Each finding names the check, the column and the figures.
 *
 * Checks and their bounds (DEFAULT_SCHEMA_BOUNDS):
 * - columns: a feature of the champion's data is missing, or a new one appears;
 * - type: a column's type differs (snapshot features are float32; summaries carry the type so a
 *   future categorical column is compared too);
 * - range: at least 1 % of the new rows lie beyond the champion's range (the new 1st percentile
 *   below its minimum or the 99th above its maximum), the sign of a unit change or a new source;
 * - scale: the standard deviation changed by more than x4 either way (a rescaled column whose
 *   values stay inside the old range, e.g. divided by 100), or a constant column is no longer;
 * - missingRate: the share of empty cells rose by more than 5 points;
 * - labelRate: the positive rate is outside [x1/2, x2] of the champion's AND more than 3 binomial
 *   standard errors away (so a small batch's noise does not fire it); only when both name the same
 *   label column;
 * - unseenCategories: rows of a categorical column hold categories the champion's data never had
 *   (more than `maxUnseenCategoryShare` of them; by default any). The model scores them as the
 *   rarest category, so they are a warning by default policy, and a schedule may make them fail.
 * Range and scale are numeric checks: a categorical column's codes are positions in its own
 * dictionary and mean nothing across two extractions, so it is compared by its categories.
 */
export const anomalyChecks = [
  'columns',
  'type',
  'range',
  'scale',
  'missingRate',
  'labelRate',
  'unseenCategories',
] as const;
export type AnomalyCheck = (typeof anomalyChecks)[number];

export const dataAnomalySchema = z.object({
  check: z.enum(anomalyChecks),
  /** The column concerned; the label column for labelRate. */
  column: z.string(),
  message: z.string().min(1),
  /** The figures behind the message, e.g. { championMax: 25000, p99: 1.2e6 }. */
  figures: z.record(z.string(), z.number()),
});
export type DataAnomaly = z.infer<typeof dataAnomalySchema>;

export interface SchemaBounds {
  /** Share of rows beyond the champion's range that is an anomaly (judged through the 1st/99th percentiles). */
  rangeQuantile: number;
  /** Largest accepted ratio of standard deviations, either way. */
  maxStdRatio: number;
  /** Largest accepted rise of the missing rate (absolute). */
  maxMissingRateRise: number;
  /** Accepted positive-rate ratio, new / champion. */
  labelRateRatio: [number, number];
  /** Binomial standard errors a label-rate change must also exceed. */
  labelRateSigmas: number;
  /** Largest accepted share of rows holding a category the champion's data did not have. */
  maxUnseenCategoryShare: number;
}

export const DEFAULT_SCHEMA_BOUNDS: SchemaBounds = {
  rangeQuantile: 0.01,
  maxStdRatio: 4,
  maxMissingRateRise: 0.05,
  labelRateRatio: [0.5, 2],
  labelRateSigmas: 3,
  maxUnseenCategoryShare: 0,
};

const fmt = (v: number) =>
  Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(3)
    : String(Number(v.toPrecision(6)));

type Column = DatasetSummary['columns'][number];

function quantile(c: Column, p: number): number | undefined {
  return c.profile?.quantiles.find((q) => q.p === p)?.value;
}

/** The categories of `now` that `before` lacks (in `now`'s order) and the rows that hold them. */
export function unseenCategories(
  before: { values: string[] },
  now: { values: string[]; counts: number[] },
): { values: string[]; rows: number } {
  const known = new Set(before.values);
  const values: string[] = [];
  let rows = 0;
  now.values.forEach((v, k) => {
    if (known.has(v)) return;
    values.push(v);
    rows += now.counts[k] ?? 0;
  });
  return { values, rows };
}

/** Every anomaly of `candidate` against `champion`, columns in the candidate's order. */
export function checkAgainstSchema(
  champion: DatasetSummary,
  candidate: DatasetSummary,
  bounds: SchemaBounds = DEFAULT_SCHEMA_BOUNDS,
): DataAnomaly[] {
  const found: DataAnomaly[] = [];
  const old = new Map(champion.columns.map((c) => [c.name, c]));
  const now = new Map(candidate.columns.map((c) => [c.name, c]));
  for (const name of champion.features) {
    if (!now.has(name)) {
      found.push({
        check: 'columns',
        column: name,
        message: `${name}: the champion's data has this column, the new data does not`,
        figures: {},
      });
    }
  }
  for (const c of candidate.columns) {
    const o = old.get(c.name);
    if (!o) {
      found.push({
        check: 'columns',
        column: c.name,
        message: `${c.name}: a new column, not in the champion's data`,
        figures: {},
      });
      continue;
    }
    if (o.profile && c.profile && o.profile.type !== c.profile.type) {
      found.push({
        check: 'type',
        column: c.name,
        message: `${c.name}: type ${c.profile.type}, the champion's data had ${o.profile.type}`,
        figures: {},
      });
    }
    if (c.categories || o.categories) {
      const unseen = c.categories && o.categories ? unseenCategories(o.categories, c.categories) : undefined;
      if (unseen && unseen.rows > bounds.maxUnseenCategoryShare * candidate.rows) {
        const share = unseen.rows / candidate.rows;
        const shown = unseen.values.slice(0, 5).map((v) => JSON.stringify(v));
        found.push({
          check: 'unseenCategories',
          column: c.name,
          message:
            `${c.name} in ${candidate.sourceUri}: ${unseen.values.length} categor${unseen.values.length === 1 ? 'y' : 'ies'} ` +
            `not in the champion's data (${shown.join(', ')}${unseen.values.length > 5 ? ', ...' : ''}) in ` +
            `${unseen.rows} of ${candidate.rows} rows (${fmt(100 * share)} %); the model scores them as a category ` +
            `it never saw (frequency 0). The champion's data had ${o.categories?.values.length} categories.`,
          figures: {
            unseenCategories: unseen.values.length,
            unseenRows: unseen.rows,
            rows: candidate.rows,
            share,
            championCategories: o.categories?.values.length ?? 0,
          },
        });
      }
      continue; // a type change (categorical on one side only) is reported above
    }
    const low = quantile(c, bounds.rangeQuantile) ?? c.min;
    const high = quantile(c, 1 - bounds.rangeQuantile) ?? c.max;
    if (low < o.min || high > o.max) {
      const pct = Math.round(100 * bounds.rangeQuantile);
      found.push({
        check: 'range',
        column: c.name,
        message:
          `${c.name}: at least ${pct} % of the new rows lie outside the champion's range [${fmt(o.min)}, ${fmt(o.max)}]: ` +
          `the new p${pct} is ${fmt(low)} and p${100 - pct} ${fmt(high)} (new range [${fmt(c.min)}, ${fmt(c.max)}], ` +
          `mean ${fmt(o.mean)} -> ${fmt(c.mean)})`,
        figures: {
          championMin: o.min,
          championMax: o.max,
          newLow: low,
          newHigh: high,
          newMin: c.min,
          newMax: c.max,
          championMean: o.mean,
          newMean: c.mean,
        },
      });
    }
    if (o.std > 0) {
      const ratio = c.std / o.std;
      if (ratio > bounds.maxStdRatio || ratio < 1 / bounds.maxStdRatio) {
        found.push({
          check: 'scale',
          column: c.name,
          message: `${c.name}: standard deviation ${fmt(o.std)} -> ${fmt(c.std)} (x${fmt(ratio)}; accepted x${fmt(1 / bounds.maxStdRatio)} to x${bounds.maxStdRatio})`,
          figures: { championStd: o.std, newStd: c.std, ratio },
        });
      }
    } else if (c.std > 0) {
      found.push({
        check: 'scale',
        column: c.name,
        message: `${c.name}: constant (${fmt(o.min)}) in the champion's data, now varies (std ${fmt(c.std)})`,
        figures: { championStd: 0, newStd: c.std },
      });
    }
    const oldMissing = o.profile?.missingRate ?? 0;
    const newMissing = c.profile?.missingRate ?? 0;
    if (newMissing - oldMissing > bounds.maxMissingRateRise) {
      found.push({
        check: 'missingRate',
        column: c.name,
        message: `${c.name}: missing rate ${fmt(100 * oldMissing)} % -> ${fmt(100 * newMissing)} %`,
        figures: { championMissingRate: oldMissing, newMissingRate: newMissing },
      });
    }
  }
  // Rates of different label columns (an unlabelled anomaly run's placeholder against a labelled
  // one's --eval-label, or a renamed target) say nothing about each other.
  if (champion.target !== candidate.target) return found;
  const p0 = champion.positiveRate;
  const p1 = candidate.positiveRate;
  const ratio = p0 > 0 ? p1 / p0 : p1 > 0 ? Number.POSITIVE_INFINITY : 1;
  const se = Math.sqrt(
    (Math.max(p0, 1 / champion.rows) * (1 - Math.min(p0, 1 - 1 / champion.rows))) / candidate.rows,
  );
  const sigmas = Math.abs(p1 - p0) / se;
  const [lo, hi] = bounds.labelRateRatio;
  if ((ratio < lo || ratio > hi) && sigmas > bounds.labelRateSigmas) {
    found.push({
      check: 'labelRate',
      column: candidate.target,
      message:
        `${candidate.target}: positive rate ${fmt(100 * p0)} % -> ${fmt(100 * p1)} % ` +
        `(x${Number.isFinite(ratio) ? fmt(ratio) : 'inf'}, ${fmt(sigmas)} standard errors; accepted x${lo} to x${hi})`,
      figures: { championRate: p0, newRate: p1, sigmas, ...(Number.isFinite(ratio) ? { ratio } : {}) },
    });
  }
  return found;
}
