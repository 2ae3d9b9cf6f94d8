import type { Workflow, WorkflowHandle, WorkflowResultType } from '@temporalio/client';
import type { MultiBar } from 'cli-progress';
import { queryProgress } from '../application/runs';
import type { PipelineProgress, StepStatus, TrainingEpoch, TrialProgress } from '../contracts/progress';
import { EXIT } from './exitCodes';
import type { Session } from './session';

/** A run that stopped to wait for a person: the command returns, the workflow waits on. */
export interface AwaitingReview {
  awaitingReview: true;
  workflowId: string;
  progress: PipelineProgress;
}

export interface FollowOptions {
  /** Show progress on stderr: bars on a terminal, a line per step and per epoch otherwise. */
  live: boolean;
  /** Epochs the run will train, for the bar's length (none for an import). */
  epochs?: number;
  /** Keep following through a review instead of returning when it starts. */
  waitForReview?: boolean;
  /** How often to ask for progress. */
  pollMs?: number;
}

/**
 * Follows a started run until it ends (its result, or the failure thrown by `handle.result()`),
 * or (unless `waitForReview`) until it waits for a person. Ctrl-C stops following, not the run:
 * it says so, how to follow it again and how to cancel it, and exits 130.
 */
export async function followRun<W extends Workflow>(
  session: Session,
  handle: WorkflowHandle<W>,
  options: FollowOptions,
): Promise<WorkflowResultType<W> | AwaitingReview> {
  const workflowId = handle.workflowId;
  const display = options.live ? progressDisplay(options.epochs) : undefined;
  const onInterrupt = () => {
    display?.stop();
    process.stderr.write(`\n${interruptMessage(workflowId, session.runsWorker)}\n`);
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', onInterrupt);
  const started = Date.now();
  let finished = false;
  const result = handle.result().finally(() => {
    finished = true;
  });
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        result.then((r) => ({ r })),
        new Promise<undefined>((r) => {
          timer = setTimeout(() => r(undefined), options.pollMs ?? 1000);
        }),
      ]).finally(() => clearTimeout(timer));
      if (outcome) {
        display?.finish(outcome.r as { steps?: StepStatus[]; outcome?: string }, Date.now() - started);
        return outcome.r;
      }
      const progress = await queryProgress(handle);
      if (!progress || finished) continue;
      display?.update(progress);
      if (progress.review && !options.waitForReview) {
        display?.waiting();
        return { awaitingReview: true, workflowId, progress };
      }
    }
  } catch (err) {
    display?.failed(Date.now() - started);
    throw err;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    display?.stop();
  }
}

/** What Ctrl-C prints: the run is not stopped, and how to come back to it or stop it. */
export function interruptMessage(workflowId: string, ranTheWorker: boolean): string {
  return [
    ranTheWorker
      ? `slipway: stopped following ${workflowId}. This command ran the only worker, so the run waits until ` +
        'one polls again (`slipway worker`); it is not cancelled.'
      : `slipway: stopped following ${workflowId}; the run goes on in the background.`,
    `  slipway status ${workflowId}                       follow it again`,
    `  slipway cancel ${workflowId} --reason "<why>"      cancel it`,
  ].join('\n');
}

interface ProgressDisplay {
  update(progress: PipelineProgress): void;
  waiting(): void;
  finish(result: { steps?: StepStatus[]; outcome?: string }, ms: number): void;
  failed(ms: number): void;
  stop(): void;
}

/** Bars on a terminal; on a file or pipe, a line per step and per epoch, and a last line. */
function progressDisplay(epochs: number | undefined): ProgressDisplay {
  return process.stderr.isTTY ? barDisplay(epochs) : lineDisplay(process.stderr);
}

function barDisplay(epochs: number | undefined): ProgressDisplay {
  // Loaded only when bars are drawn (a terminal): a module every command would otherwise load.
  const { MultiBar: Bars, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bars = new Bars(
    {
      format: ' {step} [{bar}] {value}/{total} {detail}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  let stepsBar: ReturnType<MultiBar['create']> | undefined;
  const epochBar = epochs === undefined ? undefined : bars.create(epochs, 0, { step: 'epochs', detail: '' });
  let stopped = false;
  const ensureSteps = (total: number) => {
    stepsBar ??= bars.create(total, 0, { step: 'steps ', detail: '' });
    return stepsBar;
  };
  return {
    update(progress) {
      const ended = progress.steps.filter((s) => s.status === 'done' || s.status === 'skipped').length;
      ensureSteps(progress.steps.length).update(ended, {
        detail:
          progress.tune && progress.current === 'train'
            ? describeSearch(progress.tune)
            : (progress.current ?? ''),
      });
      const last = progress.training.epochs.at(-1);
      if (last) epochBar?.update(last.epoch, { detail: describeEpoch(last) });
    },
    waiting() {
      stepsBar?.update({ detail: 'waiting for review' });
    },
    finish(result) {
      const steps = result.steps ?? [];
      ensureSteps(steps.length || 1).update(steps.length || 1, { detail: result.outcome ?? 'done' });
      const trained = (result as { epochsRun?: number }).epochsRun;
      if (trained !== undefined) {
        epochBar?.setTotal(trained);
        epochBar?.update(trained);
      }
    },
    failed() {
      stepsBar?.update({ detail: 'failed' });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bars.stop();
    },
  };
}

/** For logs and CI: nothing is redrawn, every line says something new. */
export function lineDisplay(out: { write(text: string): unknown }): ProgressDisplay {
  const seen = new Map<string, StepStatus['status']>();
  const trialsSeen = new Map<number, string>();
  let lastEpoch = 0;
  const say = (text: string) => out.write(`slipway: ${text}\n`);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const report = (steps: StepStatus[]) => {
    for (const s of steps) {
      if (seen.get(s.step) === s.status) continue;
      seen.set(s.step, s.status);
      if (s.status === 'running') say(`step ${s.step} ...`);
      else if (s.status === 'done')
        say(
          `step ${s.step} done${s.durationMs === undefined ? '' : ` in ${seconds(s.durationMs)}`}${s.cache === 'hit' ? ' (reused)' : ''}`,
        );
      else if (s.status === 'failed') say(`step ${s.step} failed`);
    }
  };
  return {
    update(progress) {
      report(progress.steps);
      for (const t of progress.tune?.trials ?? []) {
        const state = `${t.status}/${t.epochsRun}`;
        if (t.status === 'pending' || trialsSeen.get(t.trial) === state) continue;
        trialsSeen.set(t.trial, state);
        say(describeTrial(t));
      }
      for (const e of progress.training.epochs) {
        if (e.epoch <= lastEpoch) continue;
        lastEpoch = e.epoch;
        say(`epoch ${e.epoch}/${e.epochs}: ${describeEpoch(e)}`);
      }
    },
    waiting() {
      say('waiting for review');
    },
    finish(result, ms) {
      if (result.steps) report(result.steps);
      say(`finished in ${seconds(ms)}: ${result.outcome ?? 'done'}`);
    },
    failed(ms) {
      say(`stopped after ${seconds(ms)}: the run did not finish (see below)`);
    },
    stop() {},
  };
}

/** The search in a few words, for the bar: trials ended and training, and the rung. */
function describeSearch(tune: NonNullable<PipelineProgress['tune']>): string {
  const count = (...statuses: string[]) => tune.trials.filter((t) => statuses.includes(t.status)).length;
  return (
    `search: ${count('completed', 'stopped', 'failed')}/${tune.trials.length} trials ended, ${count('running')} training` +
    (tune.rungs.length > 1 ? `, rung ${tune.rung + 1} of ${tune.rungs.length}` : '')
  );
}

/** One line about a trial: its settings and how it stands. */
export function describeTrial(t: TrialProgress): string {
  const settings = Object.entries(t.settings)
    .map(([k, v]) => `${k.replace(/^spec\./, '')}=${v}`)
    .join(' ');
  const loss = t.objective === undefined ? '' : `, val loss ${t.objective.toPrecision(4)}`;
  const epochs = t.epochsRun > 0 ? ` after ${t.epochsRun} epochs${loss}` : '';
  const why = t.stopReason ?? t.error;
  return `trial ${t.trial} (${settings}) ${t.status}${epochs}${why ? `: ${why}` : ''}`;
}

/** One line about an epoch: training loss and the held-out figures people watch. */
export function describeEpoch(e: TrainingEpoch): string {
  const parts = [`loss ${e.loss.toExponential(3)}`];
  if (e.valLoss !== undefined) parts.push(`val loss ${e.valLoss.toExponential(3)}`);
  if (e.valRecall !== undefined) parts.push(`recall ${e.valRecall.toFixed(3)}`);
  if (e.valFpr !== undefined) parts.push(`FPR ${(100 * e.valFpr).toFixed(2)} %`);
  parts.push(`${Math.round(e.samplesPerSecond)} samples/s`);
  return parts.join(', ');
}
