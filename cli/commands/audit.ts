import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { ModelAccess } from '../../domain/access/modelAccess';
import { AuditLog } from '../../domain/audit/auditLog';
import { formatAuditLog, formatVerifyResult } from '../../domain/audit/render';
import { verifyAuditLog } from '../../domain/audit/verify';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { parseNumberOption } from '../numberOption';
import { printResult } from '../output';

export function registerAuditCommand(program: Command): void {
  const audit = program
    .command('audit')
    .description(
      'The append-only, hash-chained record of registrations, gate decisions, reviews and alias moves.',
    );

  audit
    .command('log')
    .description('Show the audit log, oldest first.')
    .option('--model <name>', 'only records about this model')
    .option('--last <n>', 'only the newest n records')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { model?: string; last?: string; json?: boolean }) => {
      const last =
        opts.last === undefined
          ? undefined
          : parseNumberOption(opts.last, '--last', { integer: true, min: 1 });
      const config = loadConfig();
      const store = openArtifactStore(config);
      const access = new ModelAccess(new ModelRegistry(store));
      if (opts.model !== undefined) await access.assertCanUse(opts.model, config.identity);
      const all = await new AuditLog(store).entries({ model: opts.model });
      // Records about models this person may not see are left out (see `slipway share`).
      const models = [...new Set(all.flatMap((e) => (e.record?.model ? [e.record.model] : [])))];
      const visible = new Set(await access.visibleTo(models, config.identity));
      const shown = all.filter((e) => e.record?.model === undefined || visible.has(e.record.model));
      const entries = last === undefined ? shown : shown.slice(-last);
      printResult(opts, { entries }, () => formatAuditLog(entries));
    });

  audit
    .command('verify')
    .description(
      'Recompute the hash chain and re-hash every artifact the records cite; report the first broken link (exit code 1).',
    )
    .option('--no-artifacts', 'check the chain only, not the artifacts')
    .option(
      '--expect-head <seq:hash>',
      'a head noted down earlier (outside the store): catches a truncated log',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { artifacts: boolean; expectHead?: string; json?: boolean }) => {
      let expectedHead: { seq: number; hash: string } | undefined;
      if (opts.expectHead) {
        const match = /^(\d+):([0-9a-f]{64})$/.exec(opts.expectHead.trim());
        if (!match)
          throw new Error('--expect-head takes <seq>:<sha256>, as `slipway audit verify` prints it.');
        expectedHead = { seq: Number(match[1]), hash: match[2] as string };
      }
      const result = await verifyAuditLog(openArtifactStore(loadConfig()), {
        checkArtifacts: opts.artifacts,
        expectedHead,
      });
      printResult(opts, result, () => formatVerifyResult(result));
      if (!result.ok) process.exitCode = 1;
    });
}
