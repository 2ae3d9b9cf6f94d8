import { z } from 'zod';
import type { FeatureDrift } from '../validation/drift';
import type { GateCheck } from './metricGate';

/**
 * The metric gate's drift check (issue 23): per feature, how far the data the candidate was
 * trained on has moved from the data the champion was trained on (PSI over the champion data's
 * deciles and the two-sample KS D, computed by domain/validation/drift.ts). A feature beyond
 * `maxPsi` or `maxKs` blocks the version, with the feature and its figures in the check. Off
 * unless a limit is set: a retrain on fresh data is expected to move a little, and how much is
 * too much is the team's call (0.25 is the usual PSI reading of "drifted").
 *
 * A categorical feature has no order, so no KS D: it is judged by its PSI over the champion's
 * training categories plus one "other" bucket for categories the champion's data never had
 * (trainingDataDrift.ts), against the same `maxPsi`; its chi-square p-value is in the message. A
 * new category matters here, as the exported graph encodes it as never seen (0): 5 % of rows in
 * "other" alone gives a PSI of about 0.31. With only `maxKs` set, categorical features are named
 * as not judged (set `maxPsi` to judge them).
 *
 * The comparison is with the champion's training snapshot, not with the batches production
 * scored: a monitored batch keeps only its figures against the champion's data, not its values
 * (`--retrain-on drift` is what reads those).
 *
 * No runtime imports beyond zod: the settings are part of the workflow input (contracts/inputs.ts),
 * which the workflow bundle parses; trainingDataDrift.ts does the reading and counting.
 */
export const driftGateSettingsSchema = z
  .object({
    /** Highest PSI a feature may reach between the champion's training data and the candidate's. */
    maxPsi: z.number().gt(0).optional(),
    /** Highest two-sample KS D a feature may reach (0 to 1). */
    maxKs: z.number().gt(0).max(1).optional(),
  })
  .strict();
export type DriftGateSettings = z.infer<typeof driftGateSettingsSchema>;

export function driftCheckOn(settings: DriftGateSettings | undefined): boolean {
  return settings?.maxPsi !== undefined || settings?.maxKs !== undefined;
}

/** What the gate activity found to compare: per-feature drift, or why there is nothing to compare. */
export type DriftGateInput =
  | { champion: number; features: FeatureDrift[]; notCompared: string[] }
  | { champion?: number; skipped: string };

const fmt = (v: number) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(3));

function limitsText(settings: DriftGateSettings): string {
  return [
    settings.maxPsi !== undefined ? `PSI ${settings.maxPsi}` : undefined,
    settings.maxKs !== undefined ? `KS D ${settings.maxKs}` : undefined,
  ]
    .filter(Boolean)
    .join(' or ');
}

/**
 * The drift checks: one failed check per feature beyond a limit (check `drift.<feature>`, its PSI
 * or D against the limit), or one passed check `drift` naming the largest shift. A feature with
 * too few rows on a side to judge (drift.ts's minRows) is named but never blocks.
 */
export function driftGateChecks(settings: DriftGateSettings, input: DriftGateInput): GateCheck[] {
  if ('skipped' in input)
    return [{ check: 'drift', passed: true, message: `drift not checked: ${input.skipped}` }];
  const against = `between champion v${input.champion}'s training data and this version's`;
  const failed: GateCheck[] = [];
  const unjudged: string[] = [];
  const categoricalUnjudged: string[] = [];
  for (const f of input.features) {
    if (f.level === 'too-few-rows') {
      unjudged.push(f.feature);
      continue;
    }
    if (f.kind === 'categorical') {
      if (settings.maxPsi === undefined) {
        categoricalUnjudged.push(f.feature);
        continue;
      }
      if (f.psi <= settings.maxPsi) continue;
      failed.push({
        check: `drift.${f.feature}`,
        passed: false,
        actual: f.psi,
        limit: settings.maxPsi,
        message:
          `${f.feature} drifted ${against}: PSI ${fmt(f.psi)} > ${settings.maxPsi} over its categories ` +
          `(chi-square ${fmt(f.chiSquare)}, ${f.degreesOfFreedom} df, p ${fmt(f.pValue)}` +
          `${f.unseen.length > 0 ? `; categories the champion's data never had: ${f.unseen.join(', ')}` : ''})`,
      });
      continue;
    }
    const overPsi = settings.maxPsi !== undefined && f.psi > settings.maxPsi;
    const overKs = settings.maxKs !== undefined && f.ks > settings.maxKs;
    if (!overPsi && !overKs) continue;
    // The figure that broke a limit is the check's actual; PSI first when both did.
    const [actual, limit] = overPsi ? [f.psi, settings.maxPsi as number] : [f.ks, settings.maxKs as number];
    const beyond = [
      overPsi ? `PSI ${fmt(f.psi)} > ${settings.maxPsi}` : `PSI ${fmt(f.psi)}`,
      overKs ? `KS D ${fmt(f.ks)} > ${settings.maxKs}` : `KS D ${fmt(f.ks)}`,
    ].join(', ');
    failed.push({
      check: `drift.${f.feature}`,
      passed: false,
      actual,
      limit,
      message: `${f.feature} drifted ${against}: ${beyond} (mean ${fmt(f.referenceMean)} -> ${fmt(f.currentMean)})`,
    });
  }
  // Features it could not judge are said in a check of their own, passed: they never block.
  const notes = [
    unjudged.length > 0 ? `not judged (fewer rows than drift needs): ${unjudged.join(', ')}` : '',
    input.notCompared.length > 0 ? `not in both training sets: ${input.notCompared.join(', ')}` : '',
    categoricalUnjudged.length > 0
      ? `not judged (categorical, judged by PSI only: set maxPsi): ${categoricalUnjudged.join(', ')}`
      : '',
  ].filter(Boolean);
  const noted: GateCheck[] =
    notes.length > 0
      ? [{ check: 'drift.notJudged', passed: true, message: `drift ${notes.join('; ')}` }]
      : [];
  if (failed.length > 0) return [...failed, ...noted];
  // Nothing beyond a limit: one check naming the largest shift by the first limit set.
  const by: 'psi' | 'ks' = settings.maxPsi !== undefined ? 'psi' : 'ks';
  const figure = (f: FeatureDrift) => (by === 'psi' ? f.psi : f.kind === 'numeric' ? f.ks : -1);
  const judged = input.features.filter(
    (f) => f.level !== 'too-few-rows' && (f.kind === 'numeric' || by === 'psi'),
  );
  const largest = judged.reduce<FeatureDrift | undefined>(
    (a, f) => (a === undefined || figure(f) > figure(a) ? f : a),
    undefined,
  );
  const largestText = (f: FeatureDrift) =>
    f.kind === 'numeric'
      ? `${f.feature}, PSI ${fmt(f.psi)}, KS D ${fmt(f.ks)}`
      : `${f.feature} (categorical), PSI ${fmt(f.psi)}, chi-square p ${fmt(f.pValue)}`;
  return [
    {
      check: 'drift',
      passed: true,
      ...(largest ? { actual: figure(largest) } : {}),
      limit: (by === 'psi' ? settings.maxPsi : settings.maxKs) as number,
      message:
        `no feature beyond ${limitsText(settings)} ${against}` +
        (largest ? ` (largest: ${largestText(largest)})` : ''),
    },
    ...noted,
  ];
}
