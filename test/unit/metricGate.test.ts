import { describe, expect, it } from 'vitest';
import {
  evaluateMetricGate,
  type GateMetrics,
  metricGateSettingsSchema,
} from '../../domain/gates/metricGate';

const metrics = (over: Partial<GateMetrics> = {}): GateMetrics => ({
  recall: 0.89,
  precision: 0.56,
  fpr: 0.0012,
  f1: 0.69,
  rocAuc: 0.989,
  prAuc: 0.894,
  ...over,
});
const settings = (input: unknown = {}) => metricGateSettingsSchema.parse(input);

describe('metric gate', () => {
  it('blesses the first version of a model when no thresholds are set', () => {
    const d = evaluateMetricGate({ settings: settings(), candidate: metrics() });
    expect(d.blessed).toBe(true);
    expect(d.checks).toEqual([
      { check: 'champion.prAuc', passed: true, message: 'no champion yet: nothing to compare with' },
    ]);
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
    expect(within.checks[0]?.message).toMatch(/worse by 0\.0090, within the margin 0\.0100/);
    const beyond = evaluateMetricGate({
      settings: settings(),
      candidate: metrics({ prAuc: 0.88 }),
      champion,
    });
    expect(beyond.blessed).toBe(false);
    expect(beyond.champion).toMatchObject({ version: 3, comparable: true });
    expect(beyond.checks[0]?.message).toMatch(
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
    expect(d.checks[0]?.message).toMatch(/champion v2 not compared: .*V29/);
  });

  it('rejects unknown settings instead of ignoring a typo', () => {
    expect(() => settings({ thresholds: { minRecal: 0.9 } })).toThrow();
    expect(() => settings({ champion: { keyMetric: 'accuracy' } })).toThrow();
  });
});
