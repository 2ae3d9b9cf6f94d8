import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { approveUpdate, type ReviewDecision, rejectUpdate } from '../../workflows/approval';
import { type PipelineProgress, progressQuery } from '../../workflows/trainToDeploy';
import { printResult, table } from '../output';
import { openSession } from '../session';

export interface PendingRun {
  workflowId: string;
  model: string;
  version: number;
  requestedBy: string;
  approvers: string[];
  deadline: string;
}

/** Runs that wait for a person: running trainToDeploy workflows whose progress says so. */
export async function pendingReviews(client: Client): Promise<PendingRun[]> {
  const found: PendingRun[] = [];
  for await (const run of client.workflow.list({
    query: "(WorkflowType = 'trainToDeploy' OR WorkflowType = 'importModel') AND ExecutionStatus = 'Running'",
  })) {
    const progress: PipelineProgress | undefined = await client.workflow
      .getHandle(run.workflowId, run.runId)
      .query(progressQuery)
      .catch(() => undefined);
    const review = progress?.review;
    if (review) {
      found.push({
        workflowId: run.workflowId,
        model: review.model,
        version: review.version,
        requestedBy: review.requestedBy,
        approvers: review.approvers,
        deadline: new Date(review.deadline).toISOString(),
      });
    }
  }
  return found.sort((a, b) => a.deadline.localeCompare(b.deadline));
}

export function registerReviewCommands(program: Command): void {
  program
    .command('pending')
    .description('List pipeline runs waiting for a person to approve or reject them.')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const session = await openSession({ needWorker: false });
      try {
        const pending = await pendingReviews(session.client);
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
          const handle = session.client.workflow.getHandle(workflowId);
          const result: ReviewDecision = await handle
            .executeUpdate(decision === 'approve' ? approveUpdate : rejectUpdate, {
              args: [{ approver, reason: opts.reason }],
            })
            .catch((err: unknown) => {
              if (err instanceof WorkflowNotFoundError)
                throw new Error(`No workflow ${workflowId}: check the ID with \`slipway pending\`.`);
              throw err;
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
