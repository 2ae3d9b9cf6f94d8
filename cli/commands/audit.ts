import type { Command } from 'commander';
import { readAuditLog, verifyAudit } from '../../application/audit';
import { openWorkspace } from '../../application/workspace';
import { formatAuditLog, formatVerifyResult } from '../../domain/audit/render';
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
      // Records about models this person may not see are left out (see `slipway share`).
      const entries = await readAuditLog(openWorkspace(), { model: opts.model, last });
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
      const result = await verifyAudit(openWorkspace(), {
        checkArtifacts: opts.artifacts,
        expectedHead,
      });
      printResult(opts, result, () => formatVerifyResult(result));
      if (!result.ok) process.exitCode = 1;
    });
}
