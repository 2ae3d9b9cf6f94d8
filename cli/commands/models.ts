import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { ModelAccess } from '../../domain/access/modelAccess';
import { AuditLog } from '../../domain/audit/auditLog';
import { blockedBy } from '../../domain/gates/metricGate';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import { readReview } from '../../domain/registry/reviews';
import { openArtifactStore } from '../../domain/storage/openStore';
import { printResult, table } from '../output';

function openRegistry() {
  const config = loadConfig();
  const registry = new ModelRegistry(openArtifactStore(config));
  return { config, registry, aliases: new ModelAliases(registry), access: new ModelAccess(registry) };
}

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
      const { config, registry, aliases, access } = openRegistry();
      if (name === undefined) {
        // Only what this person may see (see `slipway share`).
        const visible = await access.visibleTo(await registry.listModels(), config.identity);
        const models = await Promise.all(
          visible.map(async (model) => ({
            model,
            versions: (await registry.listVersions(model)).length,
            aliases: await aliases.aliasesOf(model),
          })),
        );
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
      await access.assertCanUse(name, config.identity);
      const current = await aliases.aliasesOf(name);
      const versions = await Promise.all(
        (await registry.listVersions(name)).map(async (version) => {
          const m = await registry.getVersion(name, version);
          const review = await readReview(registry, name, version);
          return {
            version,
            createdAt: m.createdAt,
            createdBy: m.createdBy,
            metrics: m.metrics,
            gate: m.gate,
            review,
            aliases: Object.entries(current)
              .filter(([, v]) => v === version)
              .map(([a]) => a),
          };
        }),
      );
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
              v.review ? `${v.review.decision} by ${v.review.approver}` : '-',
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
    .command('rollback')
    .description('Move an alias (default production) back to the version its current one replaced.')
    .argument('<model>', 'model name')
    .option('--alias <name>', 'which alias', 'production')
    .option('--as <name>', 'who rolls back (default: SLIPWAY_USER, else your user name)')
    .requiredOption('--reason <text>', 'why; recorded in the alias log and the audit log')
    .option('--json', 'print one JSON object on stdout')
    .action(async (model: string, opts: { alias: string; as?: string; reason: string; json?: boolean }) => {
      const { config, registry, aliases, access } = openRegistry();
      // Checked as the configured identity: --as names who acts, it does not grant rights.
      await access.assertCanMoveAliases(model, config.identity);
      const actor = opts.as ?? config.identity;
      const { entry } = await aliases.rollback(model, opts.alias, {
        actor,
        reason: opts.reason,
        at: new Date().toISOString(),
      });
      await new AuditLog(registry.store).append({
        type: 'rollback',
        model,
        version: entry.version,
        actor,
        reason: opts.reason,
        at: entry.at,
        details: { alias: opts.alias, from: entry.previous, to: entry.version, aliasLogSeq: entry.seq },
        idempotencyKey: `alias-log/${model}/${entry.seq}`,
      });
      printResult(
        opts,
        entry,
        () =>
          `${model}: ${opts.alias} moved back from v${entry.previous} to v${entry.version} (${entry.reason})`,
      );
    });
}
