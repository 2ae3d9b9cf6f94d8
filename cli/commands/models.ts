import type { Command } from 'commander';
import { listModels, modelVersions } from '../../application/models';
import { openWorkspace } from '../../application/workspace';
import { blockedBy } from '../../domain/gate/metricGate';
import { signatureLabel } from '../../domain/review/records';
import { EXIT } from '../exitCodes';
import { parseNumberOption } from '../numberOption';
import { printResult, table } from '../output';
import { withLazySession } from '../session';
import { UsageError } from '../usageError';

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

export function registerModelsCommands(program: Command): void {
  program
    .command('models')
    .description(
      'List registered models, or the versions of one with metrics, gate results, reviews and aliases.',
    )
    .argument('[name]', 'a model name; omit to list every model')
    .option('--json', 'print one JSON object on stdout')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const ws = openWorkspace();
      if (name === undefined) {
        // Only what this person may see (see `slipway share`).
        const models = await listModels(ws);
        printResult(opts, { models }, () =>
          models.length === 0
            ? 'No models registered yet: `slipway demo` or `slipway run` registers one.'
            : table(
                ['model', 'versions', 'aliases'],
                models.map((m) => [
                  m.model,
                  m.versions,
                  Object.entries(m.aliases)
                    .map(([a, v]) => `${a} -> v${v}`)
                    .join(', '),
                ]),
              ),
        );
        return;
      }
      const { aliases: current, versions: rows } = await modelVersions(ws, name);
      const versions = rows.map(({ version, metadata: m, review, aliases }) => ({
        version,
        createdAt: m.createdAt,
        createdBy: m.createdBy,
        metrics: m.metrics,
        gate: m.gate,
        review,
        aliases,
      }));
      printResult(opts, { model: name, aliases: current, versions }, () =>
        [
          table(
            ['version', 'created', 'by', 'recall', 'FPR', 'PR-AUC', 'gate', 'review', 'aliases'],
            versions.map((v) => [
              `v${v.version}`,
              v.createdAt.slice(0, 19).replace('T', ' '),
              v.createdBy,
              v.metrics ? v.metrics.recall.toFixed(3) : 'not evaluated',
              v.metrics ? pct(v.metrics.fpr) : '-',
              v.metrics ? v.metrics.prAuc.toFixed(3) : '-',
              v.gate === undefined ? '-' : v.gate.blessed ? 'passed' : 'blocked',
              v.review
                ? `${v.review.decision} by ${v.review.approver}${signatureLabel(v.review) ? ` (${signatureLabel(v.review)})` : ''}`
                : '-',
              v.aliases.join(', '),
            ]),
          ),
          // Why each blocked version was blocked: the checks it failed, with their figures.
          ...versions.flatMap((v) =>
            v.gate && !v.gate.blessed ? [`v${v.version} blocked: ${blockedBy(v.gate.checks)}`] : [],
          ),
        ].join('\n'),
      );
    });

  program
    .command('promote')
    .description(
      'Move an alias (default production) to a registered version by hand, e.g. one that served in shadow. With ' +
        '--min-shadow-agreement or --max-shadow-diff the shadow gate judges it first: the latest serve-report recorded ' +
        '(slipway serve-report --record) of this version in shadow of the version the alias points to must show enough ' +
        'requests, agreement and closeness; without one it is refused, and the alias moves only if it still points there.',
    )
    .argument('<model@version>', 'the version to promote, e.g. card-fraud@5')
    .option('--alias <name>', 'which alias', 'production')
    .option('--as <name>', 'who promotes (default: SLIPWAY_USER, else your user name)')
    .requiredOption('--reason <text>', 'why; recorded in the alias log and the audit log')
    .option(
      '--min-shadow-agreement <fraction>',
      'lowest share of shadowed rows whose labels agree (anomaly versions: flagged alike by predicted_outlier < 0), 0 to 1',
    )
    .option(
      '--max-shadow-diff <d>',
      'largest mean score difference over the shadowed rows: a probability (0 to 1) for classifiers, in anomaly_score units for anomaly versions',
    )
    .option('--min-shadow-requests <n>', 'fewest shadowed requests the report must hold', '100')
    .option('--json', 'print one JSON object on stdout')
    .action(
      async (
        ref: string,
        opts: {
          alias: string;
          as?: string;
          reason: string;
          minShadowAgreement?: string;
          maxShadowDiff?: string;
          minShadowRequests: string;
          json?: boolean;
        },
      ) => {
        const match = /^(.+)@v?(\d+)$/.exec(ref);
        if (!match) throw new UsageError(`"${ref}" is not <model>@<version> (e.g. card-fraud@5).`);
        const shadowed = opts.minShadowAgreement !== undefined || opts.maxShadowDiff !== undefined;
        const shadow = shadowed
          ? {
              ...(opts.minShadowAgreement === undefined
                ? {}
                : {
                    minAgreement: parseNumberOption(opts.minShadowAgreement, '--min-shadow-agreement', {
                      min: 0,
                      max: 1,
                    }),
                  }),
              ...(opts.maxShadowDiff === undefined
                ? {}
                : {
                    maxMeanAbsDiff: parseNumberOption(opts.maxShadowDiff, '--max-shadow-diff', { min: 0 }),
                  }),
              minRequests: parseNumberOption(opts.minShadowRequests, '--min-shadow-requests', {
                integer: true,
                min: 1,
              }),
            }
          : undefined;
        const ws = openWorkspace();
        const { promote } = await import('../../application/changes.js');
        const model = match[1] as string;
        const version = Number(match[2]);
        if (
          (shadow?.maxMeanAbsDiff ?? 0) > 1 &&
          (await ws.registry.getVersion(model, version)).kind !== 'anomaly'
        ) {
          // A classifier's shadow differences are probabilities: a limit above 1 would pass anything.
          throw new UsageError(
            `--max-shadow-diff ${opts.maxShadowDiff}: ${model} v${version} is a classifier, whose shadow differences are ` +
              'probabilities; give a limit from 0 to 1 (limits in anomaly_score units are for anomaly versions).',
          );
        }
        const result = await withLazySession((connect) =>
          promote(ws, connect, {
            modelName: model,
            version,
            alias: opts.alias,
            actor: opts.as ?? ws.identity,
            reason: opts.reason,
            ...(shadow ? { shadow } : {}),
          }),
        );
        if (result.outcome === 'blocked') process.exitCode = EXIT.blocked;
        if (result.outcome === 'superseded') process.exitCode = EXIT.superseded;
        printResult(opts, result, () => {
          const checks = (result.gate?.checks ?? []).map(
            (c) => `  ${c.passed ? 'pass' : 'FAIL'} ${c.message}`,
          );
          const head =
            result.outcome === 'promoted'
              ? `${model}: ${opts.alias} moved from ${result.promotion?.previous === null ? 'nowhere' : `v${result.promotion?.previous}`} to v${version}`
              : result.outcome === 'blocked'
                ? `${model}: v${version} NOT promoted: the shadow gate blocked it (${blockedBy(result.gate?.checks ?? [])})`
                : `${model}: v${version} not promoted: ${result.promotion?.note ?? `${opts.alias} moved meanwhile`}`;
          return [head, ...checks].join('\n');
        });
      },
    );

  program
    .command('rollback')
    .description('Move an alias (default production) back to the version its current one replaced.')
    .argument('<model>', 'model name')
    .option('--alias <name>', 'which alias', 'production')
    .option('--as <name>', 'who rolls back (default: SLIPWAY_USER, else your user name)')
    .requiredOption('--reason <text>', 'why; recorded in the alias log and the audit log')
    .option('--json', 'print one JSON object on stdout')
    .action(async (model: string, opts: { alias: string; as?: string; reason: string; json?: boolean }) => {
      const ws = openWorkspace();
      // Loaded here: it loads the Temporal SDK, which `slipway models` does without.
      const { rollback } = await import('../../application/changes.js');
      const entry = await withLazySession((connect) =>
        rollback(ws, connect, {
          model,
          alias: opts.alias,
          actor: opts.as ?? ws.identity,
          reason: opts.reason,
        }),
      );
      printResult(
        opts,
        entry,
        () =>
          `${model}: ${opts.alias} moved back from v${entry.previous} to v${entry.version} (${entry.reason})`,
      );
    });
}
