import type { Command } from 'commander';
import { openWorkspace } from '../../application/workspace';
import type { ReviewDecision } from '../../contracts/review';
import { decisionSigner } from '../decisionSigner';
import { printResult, table } from '../output';
import { openSession } from '../session';
import { RefusedError } from '../usageError';

/** The review rules whose remedy is a flag of this command, said in its terms. */
const flagHints: Record<string, string> = {
  ReviewNeedsApprover: 'Say who decides: pass --as <name>.',
  ReviewNeedsReason: 'Give a reason with --reason "<text>"; it goes into the audit log.',
};

/** Sign-time refusals (wrong key, no signature) are said as the run would say them: refusals. */
const signingRefusals = new Set(['SignatureRequired', 'SignatureKeyNotRegistered', 'SignatureInvalid']);

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
      .option(
        '--key <file>',
        "your Ed25519 private key (PEM, or an unencrypted OpenSSH key such as ~/.ssh/id_ed25519) signs the decision; or its public key (~/.ssh/id_ed25519.pub), and the SSH agent of SSH_AUTH_SOCK signs. Required where the namespace's policy registers approvers' keys",
      )
      .option(
        '--agent',
        "sign with the SSH agent's Ed25519 key (SSH_AUTH_SOCK); when it holds several, the one the namespace's policy registers for you (else name it with --key <.pub>)",
      )
      .option('--json', 'print one JSON object on stdout')
      .addHelpText(
        'after',
        `\nExamples:\n  slipway ${decision} <workflowId> --as alice --key ~/.ssh/id_ed25519 --reason "checked the curves"\n` +
          `  slipway ${decision} <workflowId> --as alice --key ~/.ssh/id_ed25519.pub --reason "..."   # the SSH agent signs\n` +
          '\nThe signature covers the run, the version, its ONNX file (sha256), the gate verdict, the decision,\n' +
          'the reason and the time; the run checks it against the policy before taking the decision.',
      )
      .action(
        async (
          workflowId: string,
          opts: { as?: string; reason: string; key?: string; agent?: boolean; json?: boolean },
        ) => {
          const signer = await decisionSigner(opts);
          const session = await openSession({ needWorker: false });
          try {
            const approver = opts.as ?? session.config.identity;
            const { decideReview, reviewRefusal } = await import('../../application/reviews.js');
            const result: ReviewDecision = await decideReview(
              session.client,
              workflowId,
              decision,
              { approver, reason: opts.reason },
              { ws: openWorkspace(session.config), signer },
            ).catch((err: unknown) => {
              const type = (err as { type?: unknown }).type;
              if (typeof type === 'string' && signingRefusals.has(type))
                throw new RefusedError((err as Error).message);
              const refusal = reviewRefusal(err);
              if (refusal === undefined) throw err;
              throw new RefusedError((refusal.kind && flagHints[refusal.kind]) ?? refusal.message);
            });
            printResult(
              opts,
              { workflowId, ...result },
              () =>
                `${workflowId}: ${result.decision} by ${result.approver} (${result.reason})` +
                (result.signature
                  ? `, signed with ${result.signature.keyFingerprint}`
                  : result.signed === false
                    ? ', unsigned'
                    : ''),
            );
          } finally {
            await session.close();
          }
        },
      );
  }
}
