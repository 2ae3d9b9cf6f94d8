import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { VersionDrift } from '../../application/drift';
import { openWorkspace } from '../../application/workspace';
import { driftVerdict } from '../../domain/validation/datasetDrift';
import type { MonitoredBatch } from '../../domain/validation/monitoring';
import { EXIT } from '../exitCodes';
import { log, printResult } from '../output';

const num = (v: number) =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(3);

/** The per-feature table `slipway drift` prints: drifted features first, then by PSI. */
export function driftTable(result: VersionDrift): string {
  const rows = [...result.drift.features].sort(
    (a, b) => Number(b.drifted) - Number(a.drifted) || b.psi - a.psi,
  );
  // A categorical feature has no KS D: its second figure is the chi-square test's p-value.
  const cells = rows.map((f) => [
    f.feature,
    num(f.psi),
    f.kind === 'numeric' ? num(f.ks) : `chi2 p ${num(f.pValue)}`,
    f.level,
    f.reason,
  ]);
  const header = ['feature', 'PSI', 'KS D', 'level', 'why'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const { drift } = result;
  const verdict = driftVerdict(drift);
  return [
    `${result.model} v${result.version}: ${drift.currentRows} rows of ${result.current} against the ${drift.referenceRows} rows it was trained on`,
    '',
    line(header),
    ...cells.map(line),
    '',
    verdict,
  ].join('\n');
}

export function registerDriftCommand(program: Command): void {
  program
    .command('drift')
    .description(
      'Compare new data with the data a model version was trained on, per feature: PSI over the training ' +
        "data's deciles and the two-sample Kolmogorov-Smirnov statistic. Exits 3 when a feature drifted.",
    )
    .argument('<model>', '<model>, <model>@<version> or <model>@<alias> (a bare name means production)')
    .requiredOption(
      '--input <source>',
      "a CSV (or s3://..., synthetic:fraud?...) with the model's feature columns in any order; no label needed",
    )
    .option('--report <file>', 'where to write the HTML report with overlaid histograms', 'drift-report.html')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nThresholds: drifted when PSI >= 0.25 or KS D > max(0.1, its critical value at alpha 0.001); moderate\n' +
        'when PSI >= 0.1; features are not judged below 100 rows.\n\n' +
        'Example:\n  slipway drift card-fraud@production --input new.csv --report drift.html',
    )
    .action(async (ref: string, opts: { input: string; report: string; json?: boolean }) => {
      const { driftOfVersion } = await import('../../application/drift.js');
      const result = await driftOfVersion(openWorkspace(), ref, opts.input);
      const reportPath = resolve(opts.report);
      await writeFile(reportPath, result.html);
      const { html: _html, ...summary } = result;
      printResult(
        opts,
        {
          ...summary,
          report: reportPath,
          // The overlay bins are for the report; the JSON keeps the figures.
          drift: { ...summary.drift, features: summary.drift.features.map(({ overlay: _o, ...f }) => f) },
        },
        () => driftTable(result),
      );
      log(`slipway: wrote the drift report to ${reportPath}`);
      // The exit code of a blocked gate: a script can stop on drift as it stops on a blocked version.
      if (result.drift.drifted.length > 0) process.exitCode = EXIT.blocked;
    });
}

/** One line per monitored batch: when, rows, mean score, drifted features. */
export function monitorTable(result: { model: string; version: number; batches: MonitoredBatch[] }): string {
  if (result.batches.length === 0) {
    return `${result.model} v${result.version} has no monitored batches yet: score with \`slipway apply ${result.model}@${result.version} --input <csv> --output <csv> --monitor\`.`;
  }
  const header = ['#', 'recorded at', 'rows', 'mean score', 'predicted +', 'max PSI', 'drifted'];
  const cells = result.batches.map((b, i) => {
    const worst = b.features.reduce((m, f) => Math.max(m, f.psi), 0);
    return [
      String(i + 1),
      b.recordedAt.replace(/\.\d+Z$/, 'Z'),
      String(b.rows),
      num(b.score.mean),
      `${(100 * b.score.positiveRate).toFixed(2)} %`,
      num(worst),
      b.drifted.length === 0 ? '-' : b.drifted.join(', '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const drifted = result.batches.filter((b) => b.drifted.length > 0).length;
  return [
    `${result.model} v${result.version}: ${result.batches.length} monitored batch${result.batches.length === 1 ? '' : 'es'}, ${drifted} drifted`,
    '',
    line(header),
    ...cells.map(line),
  ].join('\n');
}

export function registerMonitorCommand(program: Command): void {
  program
    .command('monitor')
    .description(
      'Drift over time: every batch scored with `apply --monitor` by a version, its score distribution and the ' +
        'features that drifted from the training data. Exits 3 when the newest batch drifted.',
    )
    .argument('<model>', '<model>, <model>@<version> or <model>@<alias> (a bare name means production)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { monitoredBatches } = await import('../../application/monitor.js');
      const result = await monitoredBatches(openWorkspace(), ref);
      printResult(opts, result, () => monitorTable(result));
      if ((result.batches.at(-1)?.drifted.length ?? 0) > 0) process.exitCode = EXIT.blocked;
    });
}
