import { describe, expect, it } from 'vitest';
import {
  evaluateMetricGate,
  type GateCandidate,
  metricGateSettingsSchema,
} from '../../domain/gate/metricGate';

/** The reference run's held-out figures: 71,202 rows, 123 positives. */
const metrics = (over: Partial<GateCandidate> = {}): GateCandidate => ({
  tp: 109,
  fn: 14,
  fp: 86,
  tn: 70_993,
  recall: 0.89,
  precision: 0.56,
  fpr: 0.0012,
  f1: 0.69,
  rocAuc: 0.989,
  prAuc: 0.894,
  ...over,
});

/** Figures of a scorer on the reference held-out split, from its confusion counts. */
function scorer(tp: number, fp: number, prAuc: number): GateCandidate {
  const positives = 123;
  const negatives = 71_079;
  const recall = tp / positives;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  return {
    tp,
    fp,
    fn: positives - tp,
    tn: negatives - fp,
    recall,
    precision,
    fpr: fp / negatives,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    rocAuc: 0.5,
    prAuc,
  };
}
const positiveRate = 123 / 71_202;
const settings = (input: unknown = {}) => metricGateSettingsSchema.parse(input);

describe('metric gate', () => {
  it('blesses a good first version when no thresholds are set: it beats the trivial scorers', () => {
    const d = evaluateMetricGate({ settings: settings(), candidate: metrics() });
    expect(d.blessed).toBe(true);
    expect(d.checks.map((c) => [c.check, c.passed])).toEqual([
      ['baseline.prAuc', true],
      ['baseline.likelihoodRatio', true],
      ['champion.prAuc', true],
    ]);
    expect(d.checks[0]?.limit).toBeCloseTo(positiveRate + 0.1 * (1 - positiveRate), 10);
    expect(d.checks[1]?.actual).toBeCloseTo(0.89 / 0.0012, 6);
    expect(d.checks[2]?.message).toBe('no champion yet: nothing to compare with');
  });

  it('blocks a first version with a 16 % false-positive rate, however good its recall and ranking', () => {
    // The example: a quick first model flagging 16 % of the legitimate rows.
    const fpr16 = scorer(123, Math.round(0.16 * 71_079), 0.6);
    const d = evaluateMetricGate({ settings: settings(), candidate: fpr16 });
    expect(d.blessed).toBe(false);
    const ratio = d.checks.find((c) => c.check === 'baseline.likelihoodRatio');
    expect(ratio).toMatchObject({ passed: false, limit: 10 });
    expect(ratio?.actual).toBeCloseTo(1 / 0.16, 2);
    expect(ratio?.message).toMatch(
      /recall \/ false-positive rate 1\.0000 \/ 0\.1600 = 6\.2 < 10 \(too many false alarms/,
    );
    // The ranking alone would have passed: the threshold check is what catches it.
    expect(d.checks.find((c) => c.check === 'baseline.prAuc')?.passed).toBe(true);
  });

  it('blocks the trivial scorers themselves: constant, random flags, all negative', () => {
    // A constant score: PR-AUC is the positive rate; at any threshold it flags every row or none.
    const allPositive = evaluateMetricGate({
      settings: settings(),
      candidate: scorer(123, 71_079, positiveRate),
    });
    expect(allPositive.blessed).toBe(false);
    expect(allPositive.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual([
      'baseline.prAuc',
      'baseline.likelihoodRatio',
    ]);
    expect(allPositive.checks[0]?.message).toMatch(/no better than a trivial scorer at ranking/);
    // Flagging 5 % of the rows at random finds 5 % of the positives.
    const random = evaluateMetricGate({ settings: settings(), candidate: scorer(6, 3554, 0.3) });
    expect(random.checks.find((c) => c.check === 'baseline.likelihoodRatio')?.passed).toBe(false);
    // Predicting all negative is never wrong on a negative, and finds nothing.
    const allNegative = evaluateMetricGate({ settings: settings(), candidate: scorer(0, 0, 0.5) });
    expect(allNegative.blessed).toBe(false);
    expect(allNegative.checks[1]?.message).toMatch(/recall 0 at the threshold: .*predicting all negative/);
  });

  it('passes a version with no false positives at all, and says the ratio is unbounded', () => {
    const d = evaluateMetricGate({ settings: settings(), candidate: scorer(60, 0, 0.7) });
    expect(d.blessed).toBe(true);
    expect(d.checks[1]?.actual).toBeUndefined();
    expect(d.checks[1]?.message).toMatch(/unbounded \(no false positives\)/);
  });

  it('refuses to judge held-out rows without positives', () => {
    const d = evaluateMetricGate({
      settings: settings(),
      candidate: { ...metrics(), tp: 0, fn: 0, recall: 0, prAuc: 0 },
    });
    expect(d.blessed).toBe(false);
    expect(d.checks[0]).toMatchObject({ check: 'baseline', passed: false });
    expect(d.checks[0]?.message).toMatch(/no positives.*set thresholds of your own/);
  });

  it('leaves the baseline out when the team set thresholds, and keeps it when a champion exists', () => {
    const fpr16 = scorer(123, Math.round(0.16 * 71_079), 0.6);
    const own = evaluateMetricGate({
      settings: settings({ thresholds: { minRecall: 0.9 } }),
      candidate: fpr16,
    });
    expect(own.blessed).toBe(true);
    expect(own.checks.map((c) => c.check)).toEqual(['minRecall', 'champion.prAuc']);
    const weakChampion = { version: 1, metrics: { ...fpr16, prAuc: 0.6 } };
    const d = evaluateMetricGate({ settings: settings(), candidate: fpr16, champion: weakChampion });
    expect(d.blessed).toBe(false);
    expect(d.checks.find((c) => c.check === 'champion.prAuc')?.passed).toBe(true);
  });

  it('takes its margins from the settings', () => {
    const fpr16 = scorer(123, Math.round(0.16 * 71_079), 0.6);
    const lenient = settings({ baseline: { minLikelihoodRatio: 5 } });
    expect(evaluateMetricGate({ settings: lenient, candidate: fpr16 }).blessed).toBe(true);
    const strict = settings({ baseline: { prAucMargin: 0.95 } });
    expect(evaluateMetricGate({ settings: strict, candidate: metrics() }).blessed).toBe(false);
    expect(() => settings({ baseline: { minLikelihoodRatio: 0.5 } })).toThrow();
  });

  it('checks each absolute threshold in its own direction and says by how much it failed', () => {
    const d = evaluateMetricGate({
      settings: settings({ thresholds: { minRecall: 0.9, maxFpr: 0.001, minPrAuc: 0.8 } }),
      candidate: metrics(),
    });
    expect(d.blessed).toBe(false);
    const byCheck = Object.fromEntries(d.checks.map((c) => [c.check, c]));
    expect(byCheck.minRecall).toMatchObject({ passed: false, actual: 0.89, limit: 0.9 });
    expect(byCheck.minRecall?.message).toBe('recall 0.8900 < 0.9000 (needs at least 0.9000)');
    expect(byCheck.maxFpr).toMatchObject({ passed: false });
    expect(byCheck.maxFpr?.message).toBe('false-positive rate 0.0012 > 0.0010 (needs at most 0.0010)');
    expect(byCheck.minPrAuc).toMatchObject({ passed: true });
  });

  it('allows a regression against the champion up to the margin, not beyond', () => {
    const champion = { version: 3, metrics: metrics({ prAuc: 0.9 }) };
    const within = evaluateMetricGate({
      settings: settings(),
      candidate: metrics({ prAuc: 0.891 }),
      champion,
    });
    expect(within.blessed).toBe(true);
    expect(within.checks.at(-1)?.message).toMatch(/worse by 0\.0090, within the margin 0\.0100/);
    const beyond = evaluateMetricGate({
      settings: settings(),
      candidate: metrics({ prAuc: 0.88 }),
      champion,
    });
    expect(beyond.blessed).toBe(false);
    expect(beyond.champion).toMatchObject({ version: 3, comparable: true });
    expect(beyond.checks.at(-1)?.message).toMatch(
      /prAuc 0\.8800 vs champion v3 0\.9000 on the same held-out rows \(worse by 0\.0200, more than the margin/,
    );
  });

  it('treats a higher false-positive rate as worse when it is the key metric', () => {
    const s = settings({ champion: { keyMetric: 'fpr', maxRegression: 0.0005 } });
    const champion = { version: 1, metrics: metrics({ fpr: 0.001 }) };
    expect(evaluateMetricGate({ settings: s, candidate: metrics({ fpr: 0.0008 }), champion }).blessed).toBe(
      true,
    );
    expect(evaluateMetricGate({ settings: s, candidate: metrics({ fpr: 0.002 }), champion }).blessed).toBe(
      false,
    );
  });

  it('records, and passes, a champion that cannot be scored on this data', () => {
    const d = evaluateMetricGate({
      settings: settings(),
      candidate: metrics(),
      champion: { version: 2, notComparable: 'the champion needs a column this data lacks: V29' },
    });
    expect(d.blessed).toBe(true);
    expect(d.champion).toEqual({ version: 2, comparable: false });
    expect(d.checks.at(-1)?.message).toMatch(/champion v2 not compared: .*V29/);
  });

  it('rejects unknown settings instead of ignoring a typo', () => {
    expect(() => settings({ thresholds: { minRecal: 0.9 } })).toThrow();
    expect(() => settings({ champion: { keyMetric: 'accuracy' } })).toThrow();
  });
});
