import type { Command } from 'commander';
import type { ReviewDecision } from '../../contracts/review';
import { printResult, table } from '../output';
import { openSession } from '../session';
import { RefusedError } from '../usageError';

/** The review rules whose remedy is a flag of this command, said in its terms. */
const flagHints: Record<string, string> = {
  ReviewNeedsApprover: 'Say who decides: pass --as <name>.',
  ReviewNeedsReason: 'Give a reason with --reason "<text>"; it goes into the audit log.',
};

export function registerReviewCommands(program: Command): void {
  program
    .command('pending')
    .description('List pipeline runs waiting for a person to approve or reject them.')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const session = await openSession({ needWorker: false });
      try {
        const { pendingReviews } = await import('../../application/reviews.js');
        const pending = await pendingReviews(session.client, { taskQueue: session.config.taskQueue });
        printResult(opts, { pending }, () =>
          pending.length === 0
            ? 'Nothing waits for review.'
            : table(
                ['workflow', 'model', 'version', 'started by', 'approvers', 'deadline'],
                pending.map((p) => [
                  p.workflowId,
                  p.model,
                  p.version,
                  p.requestedBy,
                  p.approvers.join(', '),
                  p.deadline,
                ]),
              ),
        );
      } finally {
        await session.close();
      }
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(
        decision === 'approve'
          ? 'Approve a run waiting for review: its model version is promoted.'
          : 'Reject a run waiting for review: its model version is kept but not promoted.',
      )
      .argument('<workflowId>', 'as listed by `slipway pending`')
      .option('--as <name>', 'who decides (default: SLIPWAY_USER, else your user name)')
      .requiredOption('--reason <text>', 'why; recorded in the audit log')
      .option('--json', 'print one JSON object on stdout')
      .action(async (workflowId: string, opts: { as?: string; reason: string; json?: boolean }) => {
        const session = await openSession({ needWorker: false });
        try {
          const approver = opts.as ?? session.config.identity;
          const { decideReview, reviewRefusal } = await import('../../application/reviews.js');
          const result: ReviewDecision = await decideReview(session.client, workflowId, decision, {
            approver,
            reason: opts.reason,
          }).catch((err: unknown) => {
            const refusal = reviewRefusal(err);
            if (refusal === undefined) throw err;
            throw new RefusedError((refusal.kind && flagHints[refusal.kind]) ?? refusal.message);
          });
          printResult(
            opts,
            { workflowId, ...result },
            () => `${workflowId}: ${result.decision} by ${result.approver} (${result.reason})`,
          );
        } finally {
          await session.close();
        }
      });
  }
}
