import type { Command } from 'commander';
import { z } from 'zod';
import { gateForModel } from '../../application/access';
import { pipelineTuneInput, readPipelineFile, type TuneOverrides } from '../../application/pipelineFile';
import type { TuneResult } from '../../application/results';
import type { TrialRun } from '../../application/searches';
import { startTune } from '../../application/start';
import { openWorkspace } from '../../application/workspace';
import type { TrialProgress } from '../../contracts/progress';
import { tuneMethods } from '../../domain/tune/searchSpace';
import { followRun } from '../followRun';
import { numberOption } from '../numberOption';
import { printResult, table } from '../output';
import { overridesFromFlags } from '../pipelineFileOptions';
import { describePipeline, pipelineJson } from '../pipelineRun';
import { followFlagsSchema, followRunToEnd } from '../runEnd';
import { UsageError } from '../usageError';

const tuneOptionsSchema = followFlagsSchema.extend({
  file: z.string().min(1).optional(),
  method: z.string().optional(),
  trials: z.number().int().optional(),
  parallel: z.number().int().optional(),
  seed: z.number().int().optional(),
});

export function registerTuneCommand(program: Command): void {
  program
    .command('tune')
    .description(
      "Search the model spec's settings (the pipeline file's tune: section): each trial trains as a child " +
        'workflow on the training queue, on whichever training workers poll it; the best trial is evaluated, ' +
        'exported, gated and registered as one new version whose lineage lists every trial.',
    )
    .requiredOption('-f, --file <path>', 'the pipeline file (slipway.yaml) with a tune: section')
    .option('--method <method>', `${tuneMethods.join(', ')} (default: the file's tune.method, else random)`)
    .option(
      '--trials <n>',
      'random and halving: how many trials to draw (grid runs every combination)',
      numberOption('--trials', { integer: true, min: 1, max: 200 }),
    )
    .option(
      '--parallel <n>',
      'trials training at once, at most (default: the file, else 2); each needs a free training worker slot',
      numberOption('--parallel', { integer: true, min: 1, max: 64 }),
    )
    .option(
      '--seed <n>',
      "the sampler's seed (default: the file, else 1): the same seed draws the same trials",
      numberOption('--seed', { integer: true, min: 0, max: 2 ** 31 - 1 }),
    )
    .option('--model <name>', "registered model name (default: the file's model)")
    .option('--source <uri>', "the data source (default: the file's source)")
    .option(
      '--categorical <columns>',
      "comma-separated text features, frequency-encoded inside the exported graph (default: the file's categorical)",
    )
    .option(
      '--epochs <n>',
      'epochs of a full trial (halving: of the last rung)',
      numberOption('--epochs', { integer: true, min: 1, max: 10_000 }),
    )
    .option('--no-cache', 'run every step even when an earlier run computed the same outputs')
    .option(
      '--wait',
      'with a review, keep waiting for the decision instead of returning when the review starts',
    )
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nThe tune: section of the pipeline file (see README, "Tuning"):\n' +
        '  tune:\n' +
        '    method: halving            # grid (every combination), random, or halving (random + successive halving)\n' +
        '    trials: 12\n' +
        '    parallel: 2\n' +
        '    space:\n' +
        '      spec.learningRate: { range: [0.001, 0.05], scale: log }\n' +
        '      spec.layers[0].units: [64, 128, 256]\n' +
        '      spec.layers[2].rate: { range: [0.1, 0.5] }\n' +
        '\nExamples:\n  slipway tune -f slipway.yaml --parallel 2\n  slipway tune -f slipway.yaml --method grid --json',
    )
    .action(async (raw: Record<string, unknown>, cmd: Command) => {
      const opts = tuneOptionsSchema.parse(raw);
      if (opts.file === undefined) throw new UsageError('give -f <pipeline file> with a tune: section');
      if (opts.method !== undefined && !(tuneMethods as readonly string[]).includes(opts.method)) {
        throw new UsageError(
          `--method must be one of ${tuneMethods.join(', ')}, got ${JSON.stringify(opts.method)}`,
        );
      }
      // Read and checked before anything else, so a bad file or search is refused before any connection.
      const loaded = readPipelineFile(opts.file);
      const tuneOverrides: TuneOverrides = {
        ...(opts.method !== undefined ? { method: opts.method as TuneOverrides['method'] } : {}),
        ...(opts.trials !== undefined ? { trials: opts.trials } : {}),
        ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      };
      const overrides = overridesFromFlags(cmd, raw, loaded);
      pipelineTuneInput(loaded, overrides, tuneOverrides, 'check');
      const ws = openWorkspace();
      const modelName = overrides.modelName ?? loaded.pipeline.model;
      const gate = await gateForModel(ws, modelName, overrides.gate);
      const input = pipelineTuneInput(loaded, { ...overrides, gate }, tuneOverrides, ws.identity);
      await followRunToEnd(
        opts,
        async (session, onStart) => {
          const handle = await startTune(session, input);
          process.stderr.write(
            `slipway: started ${handle.workflowId} (${input.tune.method}, at most ${input.tune.parallel} trials at once)\n`,
          );
          onStart(handle.workflowId);
          return followRun(session, handle, {
            live: !opts.json,
            epochs: input.spec.epochs,
            waitForReview: opts.wait,
          });
        },
        (result) => printResult(opts, tuneJson(result), () => describeTune(result)),
      );
    });
}

/** The JSON of `tune --json`: the run's, and the search with every trial (`trials`: with their workers). */
export function tuneJson(result: TuneResult, trials: readonly TrialRow[] = result.tune.trials) {
  return {
    ...pipelineJson(result),
    tune: {
      method: result.tune.method,
      parallel: result.tune.parallel,
      seed: result.tune.seed,
      rungs: result.tune.rungs,
      best: result.tune.best,
      record: { uri: result.tune.record.uri, sha256: result.tune.record.sha256 },
      trials,
    },
  };
}

export function describeTune(result: TuneResult, trials: readonly TrialRow[] = result.tune.trials): string {
  return [
    `Search (${result.tune.method}, ${result.tune.trials.length} trials): trial ${result.tune.best} won.`,
    '',
    trialsTable(trials, result.tune.best),
    '',
    describePipeline(result),
  ].join('\n');
}

/** A trial as the tables show it: with the workers that trained it when they were looked up (application/searches). */
type TrialRow = TrialProgress & { runs?: TrialRun[] };

/**
 * Every trial: its settings, how it ended, its epochs and validation loss, why it stopped, and
 * (when known) the workers that trained it, "(attempt n)" where a retry took over.
 */
export function trialsTable(trials: readonly TrialRow[], best?: number): string {
  const workers = trials.some((t) => t.runs !== undefined);
  return table(
    ['trial', 'settings', 'status', 'epochs', 'val loss', ...(workers ? ['trained on'] : []), 'note'],
    trials.map((t) => [
      `${t.trial}${t.trial === best ? ' *' : ''}`,
      Object.entries(t.settings)
        .map(([k, v]) => `${k.replace(/^spec\./, '')}=${v}`)
        .join(' '),
      t.status,
      t.epochsRun,
      t.objective === undefined ? '' : t.objective.toPrecision(4),
      ...(workers ? [describeTrialRuns(t.runs ?? [])] : []),
      t.stopReason ?? t.error ?? '',
    ]),
  );
}

/** "tw1, tw3 (attempt 2)": who trained each of a trial's child workflows. */
export function describeTrialRuns(runs: readonly TrialRun[]): string {
  return runs
    .map(
      (r) => `${r.worker ?? '-'}${r.attempt !== undefined && r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`,
    )
    .join(', ');
}
