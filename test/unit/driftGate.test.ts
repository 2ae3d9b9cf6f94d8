import { describe, expect, it } from 'vitest';
import { gateSettingsFromFlags } from '../../cli/gateOptions';
import { importModelInputSchema, trainAnomalyInputSchema } from '../../contracts/inputs';
import type { DatasetMatrix } from '../../domain/data/snapshot';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { driftGateChecks } from '../../domain/gate/driftGate';
import {
  evaluateMetricGate,
  type GateCandidate,
  metricGateSettingsSchema,
} from '../../domain/gate/metricGate';
import { trainingDataDrift } from '../../domain/gate/trainingDataDrift';

/** A good version's figures: the drift check is what is under test, so nothing else blocks. */
const candidate: GateCandidate = {
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
};
const settings = (drift: unknown) => metricGateSettingsSchema.parse({ drift });

/** A synthetic fraud snapshot matrix; `shift` adds to one feature, `drop` leaves one out. */
function fraudMatrix(
  rows: number,
  seed: number,
  options: { shift?: { feature: string; by: number }; drop?: string } = {},
): DatasetMatrix {
  const all = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
  const features = all.filter((f) => f !== options.drop);
  const keep = features.map((f) => all.indexOf(f));
  const shifted = options.shift ? features.indexOf(options.shift.feature) : -1;
  const x = new Float32Array(rows * features.length);
  const y = new Uint8Array(rows);
  let i = 0;
  for (const row of syntheticFraudRows({ rows, seed })) {
    keep.forEach((from, j) => {
      x[i * features.length + j] = (row[from] as number) + (j === shifted ? (options.shift?.by ?? 0) : 0);
    });
    y[i] = row[row.length - 1] as number;
    i++;
  }
  return { features, target: 'Class', x, y, nRows: rows, nCols: features.length };
}

function columnStd(m: DatasetMatrix, feature: string): number {
  const j = m.features.indexOf(feature);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < m.nRows; i++) {
    const v = m.x[i * m.nCols + j] as number;
    s += v;
    s2 += v * v;
  }
  const mean = s / m.nRows;
  return Math.sqrt(s2 / m.nRows - mean * mean);
}

describe('the metric gate drift check (issue 23)', () => {
  const champion = fraudMatrix(10_000, 1);
  const v5Std = columnStd(champion, 'V5');

  it('blocks a version whose training data moved one feature by one standard deviation, naming it and its PSI', () => {
    const shifted = fraudMatrix(10_000, 2, { shift: { feature: 'V5', by: v5Std } });
    const d = evaluateMetricGate({
      settings: settings({ maxPsi: 0.25 }),
      candidate,
      champion: { version: 3, metrics: candidate },
      drift: trainingDataDrift(3, champion, shifted),
    });
    expect(d.blessed).toBe(false);
    const failed = d.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.check)).toEqual(['drift.V5']);
    expect(failed[0]?.actual).toBeGreaterThan(0.25);
    expect(failed[0]?.limit).toBe(0.25);
    expect(failed[0]?.message).toMatch(
      /^V5 drifted between champion v3's training data and this version's: PSI 0\.\d{3} > 0\.25, KS D 0\.\d{3} \(mean -?\d/,
    );
  });

  it('passes data from another seed, naming the largest shift, and blocks on KS D alone when only it is set', () => {
    const other = fraudMatrix(10_000, 2);
    const d = evaluateMetricGate({
      settings: settings({ maxPsi: 0.25 }),
      candidate,
      champion: { version: 3, metrics: candidate },
      drift: trainingDataDrift(3, champion, other),
    });
    expect(d.blessed).toBe(true);
    const check = d.checks.find((c) => c.check === 'drift');
    expect(check?.passed).toBe(true);
    expect(check?.actual).toBeLessThan(0.1);
    expect(check?.message).toMatch(
      /^no feature beyond PSI 0\.25 between champion v3's .*\(largest: \w+, PSI/,
    );

    // With only a KS limit, the shifted feature is blocked on its D, and PSI is shown, not judged.
    const shifted = fraudMatrix(10_000, 2, { shift: { feature: 'V5', by: v5Std } });
    const ksOnly = driftGateChecks({ maxKs: 0.1 }, trainingDataDrift(3, champion, shifted));
    expect(ksOnly.filter((c) => !c.passed).map((c) => [c.check, c.limit])).toEqual([['drift.V5', 0.1]]);
    expect(ksOnly[0]?.actual).toBeGreaterThan(0.1);
    expect(ksOnly[0]?.message).toMatch(/: PSI 0\.\d{3}, KS D 0\.\d{3} > 0\.1 /);
  });

  it('is off unless a limit is set, and says why it did not compare when it cannot', () => {
    const off = evaluateMetricGate({ settings: settings({}), candidate });
    expect(off.checks.some((c) => c.check.startsWith('drift'))).toBe(false);
    const first = evaluateMetricGate({ settings: settings({ maxPsi: 0.25 }), candidate });
    expect(first.checks.find((c) => c.check === 'drift')).toEqual({
      check: 'drift',
      passed: true,
      message: 'drift not checked: no champion yet',
    });
    const imported = driftGateChecks(
      { maxPsi: 0.25 },
      {
        champion: 2,
        skipped: 'champion v2 was imported, so there is no training data of its to compare with',
      },
    );
    expect(imported).toEqual([
      {
        check: 'drift',
        passed: true,
        message:
          'drift not checked: champion v2 was imported, so there is no training data of its to compare with',
      },
    ]);
  });

  it('never blocks on a feature it cannot judge (too few rows) and lists columns only one side has', () => {
    const tiny = fraudMatrix(50, 2, { drop: 'V7', shift: { feature: 'V5', by: 10 * v5Std } });
    const checks = driftGateChecks({ maxPsi: 0.25 }, trainingDataDrift(3, champion, tiny));
    expect(checks.every((c) => c.passed)).toBe(true);
    const note = checks.find((c) => c.check === 'drift.notJudged');
    expect(note?.message).toMatch(
      /^drift not judged \(fewer rows than drift needs\): Time, V1, .*; not in both training sets: V7$/,
    );
    for (const c of checks) expect(c.message).not.toMatch(/NaN/);
  });

  it('judges a categorical feature by PSI over the champion categories plus other, decoding each side with its own dictionary', () => {
    // account (categorical) and amount; the codes differ between the two extractions' dictionaries.
    const matrix = (accounts: string[], dictionary: string[]): DatasetMatrix => {
      const x = new Float32Array(accounts.length * 2);
      accounts.forEach((a, r) => {
        x[r * 2] = dictionary.indexOf(a);
        x[r * 2 + 1] = (r % 10) + 0.5;
      });
      return {
        features: ['account', 'amount'],
        target: 'Class',
        x,
        y: new Uint8Array(accounts.length),
        nRows: accounts.length,
        nCols: 2,
      };
    };
    const repeat = (counts: Record<string, number>) =>
      Object.entries(counts).flatMap(([a, n]) => Array.from({ length: n }, () => a));
    const dictionaryOf = (values: string[]) => ({ values, counts: values.map(() => 0) });
    const championRows = repeat({ alice: 400, bob: 400, carol: 200 });
    const championDictionary = ['bob', 'alice', 'carol'];
    const same = repeat({ carol: 200, alice: 400, bob: 400 });
    const sameDictionary = ['carol', 'alice', 'bob'];
    const judge = (rows: string[], dictionary: string[], limits: { maxPsi?: number; maxKs?: number }) =>
      driftGateChecks(
        limits,
        trainingDataDrift(
          3,
          matrix(championRows, championDictionary),
          matrix(rows, dictionary),
          ['account'],
          {
            champion: new Map([['account', dictionaryOf(championDictionary)]]),
            candidate: new Map([['account', dictionaryOf(dictionary)]]),
          },
        ),
      );
    // The same shares under other codes: no drift (a comparison of raw codes would see one).
    const stable = judge(same, sameDictionary, { maxPsi: 0.25 });
    expect(stable.every((c) => c.passed)).toBe(true);
    expect(stable.find((c) => c.check === 'drift')?.message).not.toMatch(/account.*PSI [1-9]/);
    // 10 % of rows from accounts the champion never saw: one "other" bucket, PSI well over 0.25.
    const moved = repeat({ alice: 350, bob: 350, carol: 200, dave: 60, erin: 40 });
    const checks = judge(moved, ['alice', 'bob', 'carol', 'dave', 'erin'], { maxPsi: 0.25 });
    const failed = checks.filter((c) => !c.passed);
    expect(failed.map((c) => [c.check, c.limit])).toEqual([['drift.account', 0.25]]);
    expect(failed[0]?.actual).toBeGreaterThan(0.25);
    expect(failed[0]?.message).toMatch(
      /^account drifted between champion v3's training data and this version's: PSI \d\.\d{3} > 0\.25 over its categories \(chi-square \d+\.\d{3}, 3 df, p .*; categories the champion's data never had: \(other\)\)$/,
    );
    // KS D has no meaning without an order: with only maxKs the feature is named, never blocks.
    const ksOnly = judge(moved, ['alice', 'bob', 'carol', 'dave', 'erin'], { maxKs: 0.1 });
    expect(ksOnly.every((c) => c.passed)).toBe(true);
    expect(ksOnly.find((c) => c.check === 'drift.notJudged')?.message).toContain(
      'not judged (categorical, judged by PSI only: set maxPsi): account',
    );
    // Without the dictionaries the codes cannot be read: listed, not compared.
    const undecoded = driftGateChecks(
      { maxPsi: 0.25 },
      trainingDataDrift(
        3,
        matrix(championRows, championDictionary),
        matrix(moved, ['alice', 'bob', 'carol', 'dave', 'erin']),
        ['account'],
      ),
    );
    expect(undecoded.find((c) => c.check === 'drift.notJudged')?.message).toContain(
      'not in both training sets: account',
    );
  });

  it('refuses limits out of range in the gate settings', () => {
    expect(() => settings({ maxPsi: 0 })).toThrow();
    expect(() => settings({ maxKs: 1.5 })).toThrow();
    expect(() => settings({ maxPSI: 0.2 })).toThrow(/maxPSI/);
  });

  it('reaches the gate settings from the flags, and is refused where there is no training data to compare', () => {
    const gate = gateSettingsFromFlags({ maxDriftPsi: '0.2', maxDriftKs: '0.15', approvers: 'alice' });
    expect(gate.metric?.drift).toEqual({ maxPsi: 0.2, maxKs: 0.15 });
    expect(() => gateSettingsFromFlags({ maxDriftKs: '2' })).toThrow(
      '--max-drift-ks must be at most 1, got 2',
    );
    expect(() => gateSettingsFromFlags({ maxDriftPsi: '0' })).toThrow(
      '--max-drift-psi must be greater than 0',
    );
    const imported = {
      source: '/tmp/m.onnx',
      modelName: 'm',
      features: ['a'],
      target: 'Class',
      gate: { review: { required: true, approvers: ['alice'] } },
    };
    expect(importModelInputSchema.safeParse(imported).success).toBe(true);
    const drift = importModelInputSchema.safeParse({
      ...imported,
      gate: { ...imported.gate, metric: { drift: { maxPsi: 0.25 } } },
    });
    expect(drift.error?.issues[0]?.message).toMatch(/^the drift check .* an import trains nothing here/);
    const data = importModelInputSchema.safeParse({
      ...imported,
      gate: { ...imported.gate, data: { onAnomaly: 'fail' } },
    });
    expect(data.error?.issues[0]?.path).toEqual(['gate', 'data']);
    const anomaly = trainAnomalyInputSchema.safeParse({
      source: 'synthetic:winevents?rows=100&seed=1',
      modelName: 'w',
      gate: { review: { required: true, approvers: ['alice'] }, metric: { drift: { maxKs: 0.2 } } },
    });
    expect(anomaly.error?.issues[0]?.message).toMatch(/runs only with a label: give --eval-label/);
  });
});
