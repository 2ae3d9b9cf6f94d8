import type { Command } from 'commander';
import { listRuns, type RunOutcome, type RunSummary } from '../../application/runs';
import { printResult, table } from '../output';
import { describeRunEnd } from '../runEnd';
import { openSession } from '../session';
import { UsageError } from '../usageError';

const OUTCOMES: Array<RunOutcome | 'skipped'> = [
  'promoted',
  'registered',
  'awaiting-review',
  'blocked',
  'rejected',
  'timed-out',
  'superseded',
  'failed',
  'cancelled',
  'running',
  'skipped',
];

/** `slipway runs`: the runs view, every run of a model in one list (application/runs.ts listRuns). */
export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description(
      'List runs newest first (trained, anomaly and imported), whatever their end: promoted, blocked, rejected, ' +
        'failed, cancelled or running, with duration, the version registered and its held-out figures.',
    )
    .option('--model <name>', 'only runs of this model')
    .option('--outcome <list>', `only runs that ended so, comma-separated: ${OUTCOMES.join(', ')}`)
    .option('--limit <n>', 'at most this many runs', '20')
    .option('--json', 'print one JSON array on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway runs --model fraud\n  slipway runs --model fraud --outcome failed,blocked --json',
    )
    .action(async (opts: { model?: string; outcome?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit must be a whole number from 1, got "${opts.limit}"`);
      const outcomes = opts.outcome?.split(',').map((o) => o.trim()) as RunSummary['outcome'][] | undefined;
      const unknown = outcomes?.filter((o) => !OUTCOMES.includes(o));
      if (unknown?.length) {
        throw new UsageError(
          `--outcome ${unknown.join(', ')}: not an outcome; give one or more of ${OUTCOMES.join(', ')}`,
        );
      }
      const session = await openSession({ needWorker: false });
      try {
        const runs = await listRuns(session.client, session.config.taskQueue, {
          model: opts.model,
          outcomes,
          limit,
        });
        printResult(opts, runs.map(runJson), () => describeRuns(runs));
      } finally {
        await session.close();
      }
    });
}

function runJson(run: RunSummary) {
  const { result: _result, ...rest } = run;
  return rest;
}

const figure = (x: number | undefined) => (x === undefined ? '' : x.toFixed(3));

function describeRuns(runs: RunSummary[]): string {
  if (runs.length === 0) return 'No runs found.';
  const rows = runs.map((r) => [
    r.startedAt.replace('T', ' ').slice(0, 19),
    r.model ?? '?',
    r.outcome,
    r.seconds === undefined ? '' : `${r.seconds.toFixed(0)} s`,
    r.version === undefined ? '' : `v${r.version}`,
    figure(r.figures?.prAuc),
    figure(r.figures?.recall),
    r.outcome === 'failed' || r.outcome === 'cancelled'
      ? describeRunEnd(r).replace(/\n/g, ' ')
      : r.workflowId,
  ]);
  return table(
    ['started (UTC)', 'model', 'outcome', 'took', 'version', 'PR-AUC', 'recall', 'run / why'],
    rows,
  );
}
