import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EXIT } from '../cli/exitCodes';
import { REPO_ROOT } from '../config/env';
import { median, secondsSince } from './lib/stats';

export interface CliTiming {
  command: string;
  /** Wall seconds of each run, in order. */
  seconds: number[];
  medianSeconds: number;
  /** Issue 20's target for the median on these machines. */
  targetSeconds: number;
}

export interface CliStartupReport {
  runs: number;
  timings: CliTiming[];
}

const SLIPWAY = join(REPO_ROOT, 'bin', 'slipway');

/** Wall time of `bin/slipway <args>` as a person runs it (a fresh process each time, output discarded). */
function timeCommand(args: string[], env: NodeJS.ProcessEnv, answers: readonly number[] = [EXIT.ok]): number {
  const started = performance.now();
  const run = spawnSync(SLIPWAY, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const seconds = secondsSince(started);
  if (run.status === null || !answers.includes(run.status))
    throw new Error(
      `bin/slipway ${args.join(' ')} exited with ${run.status}: ${run.stderr.trim().slice(-300)}`,
    );
  return seconds;
}

/**
 * How long `slipway --help` and `slipway status <id>` take from start to exit, through bin/slipway
 * (dependency check, build check, compiled CLI). `status` asks a real Temporal server about a
 * finished pipeline run. One untimed run first builds the CLI if the sources changed.
 */
export function measureCliStartup(options: {
  temporalAddress: string;
  workflowId: string;
  artifacts: string;
  runs: number;
}): CliStartupReport {
  const env = { SLIPWAY_TEMPORAL_ADDRESS: options.temporalAddress, SLIPWAY_ARTIFACTS: options.artifacts };
  // `status` exits with the code of the run's outcome (cli/exitCodes.ts): a bench run the default
  // gate blocked answers 3, which is as good an answer as 0 for timing the command.
  const runOutcomes = [EXIT.ok, EXIT.blocked, EXIT.rejected, EXIT.cancelled, EXIT.superseded];
  const commands: Array<{ args: string[]; targetSeconds: number; answers?: readonly number[] }> = [
    { args: ['--help'], targetSeconds: 0.5 },
    { args: ['status', options.workflowId], targetSeconds: 1, answers: runOutcomes },
  ];
  timeCommand(['--version'], env); // builds dist/ first when needed, not counted
  const timings = commands.map(({ args, targetSeconds, answers }) => {
    const seconds = Array.from({ length: options.runs }, () => timeCommand(args, env, answers));
    return { command: `slipway ${args[0]}`, seconds, medianSeconds: median(seconds), targetSeconds };
  });
  return { runs: options.runs, timings };
}
