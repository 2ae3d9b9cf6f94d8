import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { AuditLog } from '../../domain/audit/auditLog';
import { formatAuditLog, formatVerifyResult } from '../../domain/audit/render';
import { verifyAuditLog } from '../../domain/audit/verify';
import { openArtifactStore } from '../../domain/storage/openStore';
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
      const last = opts.last === undefined ? undefined : Number(opts.last);
      if (last !== undefined && !(Number.isInteger(last) && last > 0)) {
        throw new Error(`--last ${opts.last}: give a whole number of records, e.g. --last 20.`);
      }
      const entries = await new AuditLog(openArtifactStore(loadConfig())).entries({
        model: opts.model,
        last,
      });
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
