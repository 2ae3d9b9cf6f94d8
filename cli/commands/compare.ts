import type { Command } from 'commander';
import type { VersionComparison } from '../../application/compare';
import { openWorkspace } from '../../application/workspace';
import { printResult, table } from '../output';
import { UsageError } from '../usageError';

/** `slipway compare`: two or more versions side by side (application/compare.ts compareVersions). */
export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'Compare two or more model versions: settings and code that differ, data snapshot and schema, metrics with ' +
        'their differences, confusion matrices, feature importances, and every version scored on the same rows ' +
        "(the newest version's held-out split). The console shows the same with the curves overlaid.",
    )
    .argument('<versions...>', '<model>@<version> or <model>@<alias>, two or more (different models too)')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway compare card-fraud@3 card-fraud@4\n  slipway compare card-fraud@production card-fraud@5 --json',
    )
    .action(async (refs: string[], opts: { json?: boolean }) => {
      if (refs.length < 2)
        throw new UsageError(
          `compare needs two or more versions, got ${refs.length}: e.g. slipway compare card-fraud@1 card-fraud@2`,
        );
      // Loaded by this command only: scoring on the same rows brings Arrow, onnxruntime and the exporter.
      const { compareVersions } = await import('../../application/compare.js');
      const comparison = await compareVersions(openWorkspace(), refs);
      printResult(opts, comparison, () => describeComparison(comparison));
    });
}

const num = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined ? '-' : v.toFixed(digits);
const signed = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;

export function describeComparison(c: VersionComparison): string {
  const refs = c.versions.map((v) => v.ref);
  const out: string[] = [];
  out.push(
    table(
      ['version', 'created', 'by', 'code', 'source'],
      c.versions.map((v) => [
        `${v.ref}${v.via ? ` (${v.via})` : ''}`,
        v.createdAt.slice(0, 19).replace('T', ' '),
        v.createdBy,
        v.codeVersion,
        v.sourceUri,
      ]),
    ),
    '',
  );
  out.push(
    c.settings.length === 0
      ? 'Settings: the same.'
      : `Settings that differ:\n${table(
          ['setting', ...refs],
          c.settings.map((d) => [d.key, ...d.values.map((x) => String(x))]),
        )}`,
    '',
  );
  out.push(
    `Data: ${c.data.sameSnapshot ? 'the same snapshot' : 'different snapshots'} (${c.versions
      .map(
        (v) => `${v.ref}: ${v.datasetSha256?.slice(0, 12) ?? 'none'}${v.data ? `, ${v.data.rows} rows` : ''}`,
      )
      .join('; ')}); schema ${
      c.data.sameSchema
        ? 'the same'
        : c.data.schema
            .map(
              (s) =>
                `${s.ref}: ${
                  [
                    s.missing.length ? `lacks ${s.missing.join(', ')}` : '',
                    s.added.length ? `adds ${s.added.join(', ')}` : '',
                    s.orderChanged ? 'features reordered' : '',
                  ]
                    .filter(Boolean)
                    .join(', ') || 'as the first'
                }`,
            )
            .join('; ')
    }.`,
    '',
  );
  out.push(
    'Registered metrics (each on its own held-out rows; difference from the first):',
    table(
      ['metric', ...refs.flatMap((r, i) => (i === 0 ? [r] : [r, 'diff']))],
      c.metrics.map((m) => [
        m.metric,
        ...m.values.flatMap((v, i) =>
          i === 0
            ? [num(v, ['tp', 'fp', 'tn', 'fn'].includes(m.metric) ? 0 : 4)]
            : [num(v, ['tp', 'fp', 'tn', 'fn'].includes(m.metric) ? 0 : 4), signed(m.deltaFromFirst[i])],
        ),
      ]),
    ),
    '',
  );
  if ('why' in c.sameRows) out.push(`Same rows: not scored (${c.sameRows.why}).`);
  else {
    const s = c.sameRows;
    out.push(
      `On the same rows: ${s.basis.description}, ${s.basis.rows} rows, ${s.basis.positives} positive:`,
      table(
        ['version', 'PR-AUC', 'ROC-AUC', 'recall', 'precision', 'FPR', 'TP', 'FP', 'TN', 'FN'],
        s.results.map((r) =>
          r.comparable
            ? [
                r.ref,
                num(r.metrics.prAuc),
                num(r.metrics.rocAuc),
                num(r.metrics.recall),
                num(r.metrics.precision),
                num(r.metrics.fpr),
                r.metrics.tp,
                r.metrics.fp,
                r.metrics.tn,
                r.metrics.fn,
              ]
            : [r.ref, `not comparable: ${r.why}`, '', '', '', '', '', '', '', ''],
        ),
      ),
    );
  }
  const withImportance = c.versions.filter((v) => v.importance);
  if (withImportance.length > 0) {
    out.push('', 'Feature importance (top 5, mean drop of the key metric when shuffled):');
    for (const v of withImportance) {
      const ranking = v.importance?.ranking.slice(0, 5) ?? [];
      out.push(`  ${v.ref}: ${ranking.map((f) => `${f.feature} ${f.mean.toFixed(4)}`).join(', ')}`);
    }
  }
  return out.join('\n');
}
