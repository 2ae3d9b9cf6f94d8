import type { RunOutcome } from '../application/runs';

/**
 * The exit codes of `slipway`, in one place: the README's table and `slipway --help` are written
 * from `exitCodeTable`, and every command that follows a run ends with `exitCodeFor(outcome)`.
 * `--json` output carries the same `outcome` and `exitCode`, so a script can use either.
 */
export const EXIT = {
  /** Promoted, registered as asked (--no-promote), or handed to review (without --wait). */
  ok: 0,
  /** The run failed (its cause is printed), the command was refused (not permitted), or an unexpected error. */
  failed: 1,
  /** Refused before anything started: wrong arguments, options, files or configuration. */
  badInput: 2,
  /** Registered, but the metric gate blocked it: production did not move. */
  blocked: 3,
  /** Registered, but a reviewer rejected it or nobody reviewed it in time. */
  rejected: 4,
  /** Cancelled (`slipway cancel`) before it finished. */
  cancelled: 5,
  /** Registered and blessed, but the alias moved while it waited, so it was left alone. */
  superseded: 6,
  /** Ctrl-C: the command stopped following the run, which goes on in the background. */
  interrupted: 130,
} as const;

/** The exit code of a run's outcome ("skipped": a scheduled run with nothing to do, as registered). */
export function exitCodeFor(outcome: RunOutcome | 'skipped'): number {
  switch (outcome) {
    case 'skipped':
    case 'promoted':
    case 'registered':
    case 'awaiting-review':
    case 'running':
      return EXIT.ok;
    case 'blocked':
      return EXIT.blocked;
    case 'rejected':
    case 'timed-out':
      return EXIT.rejected;
    case 'superseded':
      return EXIT.superseded;
    case 'cancelled':
      return EXIT.cancelled;
    case 'failed':
      return EXIT.failed;
  }
}

/** The table for `--help` and the README. */
export const exitCodeTable: ReadonlyArray<readonly [number, string]> = [
  [EXIT.ok, 'promoted, registered as asked (--no-promote), or waiting for review (without --wait)'],
  [
    EXIT.failed,
    'the run failed (its cause, type and step are printed), a refusal (not permitted), or an unexpected error',
  ],
  [EXIT.badInput, 'bad input: refused before anything started (arguments, files, configuration)'],
  [
    EXIT.blocked,
    'blocked by the metric gate (registered, not promoted); `drift` and `monitor`: a feature drifted',
  ],
  [EXIT.rejected, 'rejected in review, or the review timed out (registered, not promoted)'],
  [EXIT.cancelled, 'cancelled with `slipway cancel`'],
  [EXIT.superseded, 'not promoted: the alias moved while the run waited'],
  [EXIT.interrupted, 'Ctrl-C: the command stopped following; the run goes on in the background'],
];

export function exitCodeHelp(): string {
  return [
    'Exit codes (commands that follow a run: demo, run, import, status; --json carries "outcome" and "exitCode"):',
    ...exitCodeTable.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`),
  ].join('\n');
}

/** Sets the process's exit code for a run's outcome (the command returns normally). */
export function exitWith(outcome: RunOutcome): void {
  process.exitCode = exitCodeFor(outcome);
}
