import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractDataset } from '../../domain/data/extract';
import type { DatasetSummary } from '../../domain/data/summary';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { decideAnomalies, describeAnomalies } from '../../domain/validation/anomalyPolicy';
import { checkAgainstSchema } from '../../domain/validation/schemaCheck';
import { useTempStore } from '../support/tempStore';

const temp = useTempStore('slipway-schema-check-', 'artifacts', { perFile: true });

async function summaryOf(source: string): Promise<DatasetSummary> {
  return (await extractDataset({ source, store: temp.store, workDir: join(temp.root, 'work') })).summaryDoc;
}

/** Synthetic fraud rows as a CSV, each row passed through `edit` (which may drop or change values). */
async function csv(
  name: string,
  seed: number,
  edit: (row: number[], i: number) => number[],
  columns = SYNTHETIC_FRAUD_COLUMNS,
) {
  const lines = [columns.join(',')];
  let i = 0;
  for (const row of syntheticFraudRows({ rows: 5000, seed })) lines.push(edit(row, i++).join(','));
  const path = join(temp.root, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const AMOUNT = SYNTHETIC_FRAUD_COLUMNS.indexOf('Amount');
const CLASS = SYNTHETIC_FRAUD_COLUMNS.indexOf('Class');

describe('validation against the champion’s training data', () => {
  let champion: DatasetSummary;
  beforeAll(async () => {
    champion = await summaryOf('synthetic:fraud?rows=5000&seed=1');
  });

  it('passes unchanged data from another seed', async () => {
    expect(checkAgainstSchema(champion, await summaryOf('synthetic:fraud?rows=5000&seed=2'))).toEqual([]);
  });

  it('names Amount and the figures when it was rescaled by 100', async () => {
    const path = await csv('amount-x100.csv', 3, (row) => row.map((v, j) => (j === AMOUNT ? v * 100 : v)));
    const anomalies = checkAgainstSchema(champion, await summaryOf(path));
    expect(anomalies.map((a) => [a.check, a.column])).toEqual([
      ['range', 'Amount'],
      ['scale', 'Amount'],
    ]);
    const [range, scale] = anomalies;
    expect(range?.figures.newHigh).toBeGreaterThan(range?.figures.championMax ?? Number.POSITIVE_INFINITY);
    expect(range?.message).toMatch(
      /^Amount: at least 1 % of the new rows lie outside the champion's range \[/,
    );
    expect(scale?.figures.ratio).toBeGreaterThan(90);
    expect(scale?.message).toMatch(/^Amount: standard deviation .* -> .* \(x\d+/);
  });

  it('sees Amount divided by 100 too (its small values fall below the old minimum, its spread shrinks)', async () => {
    const path = await csv('amount-div100.csv', 3, (row) => row.map((v, j) => (j === AMOUNT ? v / 100 : v)));
    expect(checkAgainstSchema(champion, await summaryOf(path)).map((a) => [a.check, a.column])).toEqual([
      ['range', 'Amount'],
      ['scale', 'Amount'],
    ]);
  });

  it('names missing and new columns', async () => {
    const columns = SYNTHETIC_FRAUD_COLUMNS.map((c) => (c === 'V7' ? 'V7_new' : c));
    const path = await csv('renamed.csv', 2, (row) => row, columns);
    const anomalies = checkAgainstSchema(champion, await summaryOf(path));
    expect(anomalies.map((a) => [a.check, a.column])).toEqual([
      ['columns', 'V7'],
      ['columns', 'V7_new'],
    ]);
  });

  it('flags a tripled label rate, with the figures, and not a small batch’s noise', async () => {
    // 0.17 % -> about 0.5 %: every 300th row is made a fraud as well.
    const path = await csv('tripled.csv', 2, (row, i) =>
      row.map((v, j) => (j === CLASS && i % 300 === 0 ? 1 : v)),
    );
    const [label, ...rest] = checkAgainstSchema(champion, await summaryOf(path));
    expect(rest).toEqual([]);
    expect(label).toMatchObject({ check: 'labelRate', column: 'Class' });
    expect(label?.figures.ratio).toBeGreaterThan(2);
    expect(label?.message).toMatch(/^Class: positive rate 0\.\d+ % -> 0\.\d+ % \(x\d.*standard errors/);
    // 2 positives in 400 rows is 0.5 %, but within 3 standard errors of 0.17 %: not an anomaly.
    const small = {
      ...champion,
      rows: 400,
      classCounts: { negative: 398, positive: 2 },
      positiveRate: 2 / 400,
    };
    expect(checkAgainstSchema(champion, small).filter((a) => a.check === 'labelRate')).toEqual([]);
    // Another label column (an unlabelled anomaly run's placeholder against --eval-label): no rate to compare.
    const tripled = await summaryOf(path);
    expect(checkAgainstSchema(champion, { ...tripled, target: 'anomalous' })).toEqual([]);
  });

  it('a constant column that starts to vary is a scale anomaly, never NaN', () => {
    const constant = {
      ...champion,
      columns: champion.columns.map((c) => (c.name === 'V1' ? { ...c, min: 0, max: 0, mean: 0, std: 0 } : c)),
    };
    const anomalies = checkAgainstSchema(constant, champion).filter((a) => a.column === 'V1');
    expect(anomalies.map((a) => a.check)).toEqual(['range', 'scale']);
    expect(JSON.stringify(anomalies)).not.toMatch(/NaN|null/);
  });

  it('applies the policy per check, the strictest deciding the run', () => {
    const anomalies = [
      { check: 'range' as const, column: 'Amount', message: 'Amount: out', figures: {} },
      { check: 'labelRate' as const, column: 'Class', message: 'Class: up', figures: {} },
    ];
    expect(decideAnomalies(anomalies, { onAnomaly: 'warn', checks: {} }).outcome).toBe('warn');
    expect(decideAnomalies(anomalies, { onAnomaly: 'warn', checks: { labelRate: 'review' } }).outcome).toBe(
      'review',
    );
    const failed = decideAnomalies(anomalies, { onAnomaly: 'fail', checks: { labelRate: 'warn' } });
    expect(failed.outcome).toBe('fail');
    expect(failed.anomalies.map((a) => a.policy)).toEqual(['fail', 'warn']);
    expect(decideAnomalies([], { onAnomaly: 'fail', checks: {} }).outcome).toBe('pass');
    expect(describeAnomalies(anomalies)).toBe('[range] Amount: out; [labelRate] Class: up');
  });
});
