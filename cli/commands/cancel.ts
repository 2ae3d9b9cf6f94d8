import type { Command } from 'commander';
import { cancelRun } from '../../application/changes';
import { describeCancellation, type RunView, runView } from '../../application/runs';
import { openWorkspace } from '../../application/workspace';
import { printResult } from '../output';
import { runEndJson } from '../runEnd';
import { openSession, type Session } from '../session';
import { UsageError } from '../usageError';

/**
 * `slipway cancel <id> --reason "..."`: asks Temporal to cancel a run (the reason travels with the
 * request and is shown by `status`), records who and why in the audit log, and waits for the run
 * to stop. A cancelled run ends like a failed one: the step in flight is cancelled, its scratch
 * files go, what it already stored stays content-addressed and unreferenced, nothing is promoted.
 */
export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description(
      'Cancel a running pipeline, import or scheduled run: audited, shown as "cancelled" with the reason by `slipway status`.',
    )
    .argument(
      '<workflowId>',
      'as printed by `slipway run`, `demo` or `import`, or listed by `schedule describe`',
    )
    .requiredOption('--reason <text>', 'why; recorded with the run and in the audit log')
    .option('--as <name>', 'who cancels (default: SLIPWAY_USER, else your user name)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (workflowId: string, opts: { reason: string; as?: string; json?: boolean }) => {
      const reason = opts.reason.trim();
      if (reason === '')
        throw new UsageError('Give a reason with --reason "<text>"; it goes into the audit log.');
      // A worker records the cancellation in the audit log (see application/changes.ts).
      const session = await openSession();
      try {
        const before = await runView(session.client, workflowId).catch((err: unknown) => {
          if (
            err instanceof
            (require('@temporalio/client') as typeof import('@temporalio/client')).WorkflowNotFoundError
          )
            throw new UsageError(`No run ${workflowId}: check the ID (\`slipway status <id>\`).`);
          throw err;
        });
        if (before.status !== 'RUNNING') {
          throw new UsageError(
            `${workflowId} is not running (${before.outcome}): there is nothing to cancel. \`slipway status ${workflowId}\` shows how it ended.`,
          );
        }
        await cancelRun(openWorkspace(session.config), session, before, {
          actor: opts.as ?? session.config.identity,
          reason,
        });
        const after = await waitUntilClosed(session, workflowId, 60_000);
        printResult(opts, runEndJson(after), () =>
          after.status === 'RUNNING'
            ? `Asked to cancel ${workflowId}; it stops when a worker next picks it up (\`slipway status ${workflowId}\`).`
            : after.cancellation
              ? `${workflowId}: ${describeCancellation(after.cancellation)}`
              : `${workflowId} ended before the cancellation reached it: ${after.outcome}`,
        );
      } finally {
        await session.close();
      }
    });
}

async function waitUntilClosed(session: Session, workflowId: string, timeoutMs: number): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  const handle = session.client.workflow.getHandle(workflowId);
  while ((await handle.describe()).status.name === 'RUNNING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
  }
  return runView(session.client, workflowId);
}
