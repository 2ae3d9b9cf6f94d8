import { describe, expect, it } from 'vitest';
import { evaluateShadowGate, shadowGateSettingsSchema } from '../../domain/gate/shadowGate';

const report = (over: Partial<Parameters<typeof evaluateShadowGate>[0]['reports'][number]> = {}) => ({
  seq: 7,
  at: '2026-11-30T03:00:00.000Z',
  primaryVersion: 3,
  shadowVersion: 5,
  shadowAlias: 'staging',
  requests: 400,
  rows: 900,
  agreement: 0.995,
  meanAbsDiff: 0.002,
  maxAbsDiff: 0.05,
  ...over,
});
const settings = shadowGateSettingsSchema.parse({ minAgreement: 0.99, maxMeanAbsDiff: 0.01 });
const gate = (reports: ReturnType<typeof report>[], champion: number | undefined) =>
  evaluateShadowGate({ model: 'fraud', settings, candidate: 5, champion, alias: 'production', reports });

describe('the shadow gate (serve-report feeding promotion)', () => {
  it('passes on the latest report of the candidate in shadow of the champion', () => {
    const decision = gate([report({ agreement: 0.5, seq: 2 }), report()], 3);
    expect(decision.blessed).toBe(true);
    expect(decision.checks.map((c) => c.check)).toEqual([
      'shadow.requests',
      'shadow.agreement',
      'shadow.meanAbsDiff',
    ]);
  });

  it('blocks on each figure, naming it', () => {
    const low = gate([report({ agreement: 0.98, meanAbsDiff: 0.02, requests: 10 })], 3);
    expect(low.blessed).toBe(false);
    expect(low.checks.filter((c) => !c.passed).map((c) => c.message)).toEqual([
      expect.stringMatching(/^10 shadowed requests .*: fewer than the 100 needed$/),
      'labels agree on 98.00 % of the shadowed rows < 99.00 %',
      'mean probability difference 2.000e-2 > 1.000e-2',
    ]);
  });

  it('judges an anomaly version’s report in its units: outlier flags agreeing, anomaly_score differences beyond 1 allowed', () => {
    const anomaly = (limit: number, meanAbsDiff: number) =>
      evaluateShadowGate({
        model: 'secops/events',
        settings: shadowGateSettingsSchema.parse({ minAgreement: 0.9, maxMeanAbsDiff: limit }),
        candidate: 5,
        champion: 3,
        alias: 'production',
        reports: [report({ score: 'anomaly_score', agreement: 0.95, meanAbsDiff })],
      });
    const passed = anomaly(4, 2.5);
    expect(passed.blessed).toBe(true);
    expect(passed.checks.slice(1).map((c) => c.message)).toEqual([
      'outlier flags (predicted_outlier < 0) agree on 95.00 % of the shadowed rows >= 90.00 %',
      'mean anomaly_score difference 2.500e+0 <= 4.000e+0',
    ]);
    expect(anomaly(2, 2.5).checks[2]).toMatchObject({ passed: false, actual: 2.5, limit: 2 });
    // The same limit against a classifier's report is not a probability: refused, not passed.
    const classifier = evaluateShadowGate({
      model: 'fraud',
      settings: shadowGateSettingsSchema.parse({ maxMeanAbsDiff: 4 }),
      candidate: 5,
      champion: 3,
      alias: 'production',
      reports: [report()],
    });
    expect(classifier.blessed).toBe(false);
    expect(classifier.checks[1]?.message).toMatch(/^the limit 4 is not a probability difference \(0 to 1\)/);
  });

  it('refuses clearly when no report compares this pair, naming the reports there are', () => {
    const none = gate([report({ primaryVersion: 2 })], 3);
    expect(none.blessed).toBe(false);
    expect(none.checks[0]?.message).toMatch(
      /^no serve-report compares v5 in shadow of production's v3 \(there are reports against v2\): serve it with `slipway serve fraud@production --shadow/,
    );
    expect(gate([], undefined).checks[0]?.message).toMatch(/points to no version/);
  });

  it('needs a limit to judge by', () => {
    expect(shadowGateSettingsSchema.safeParse({ minRequests: 5 }).success).toBe(false);
  });
});
