import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { numberOption } from '../numberOption';
import { printResult } from '../output';
import { describePipeline, pipelineJson, runPipeline } from '../pipelineRun';
import { followRunToEnd } from '../runEnd';

const demoOptionsSchema = z.object({
  rows: z.number().int().min(1000).max(10_000_000),
  epochs: z.number().int().min(1).max(1000),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  cache: z.boolean().default(true),
  json: z.boolean().optional(),
});

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the reference pipeline on the embedded default with no setup: start the local stack and a worker, ' +
        'generate the synthetic credit-card-fraud data, then extract, scale, train, evaluate, export to ONNX, gate, register and promote.',
    )
    .option(
      '--rows <n>',
      'rows of synthetic data (the reference data set has 284,807)',
      numberOption('--rows', { integer: true, min: 1000, max: 10_000_000 }),
      284_807,
    )
    .option(
      '--epochs <n>',
      'training epochs (the reference runs 50)',
      numberOption('--epochs', { integer: true, min: 1, max: 1000 }),
      50,
    )
    .option(
      '--seed <n>',
      'generator seed',
      numberOption('--seed', { integer: true, min: 0, max: 2 ** 31 - 1 }),
      42,
    )
    .option('--no-cache', 'run every step even when an earlier run computed the same outputs')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', '\nA quick run: slipway demo --rows 20000 --epochs 3')
    .action(async (raw: Record<string, unknown>) => {
      const opts = demoOptionsSchema.parse(raw);
      await followRunToEnd(
        opts,
        async (session, onStart) => {
          const result = await runPipeline(
            session,
            {
              source: `synthetic:fraud?rows=${opts.rows}&seed=${opts.seed}`,
              target: DEFAULT_TARGET_COLUMN,
              modelName: 'fraud-demo',
              spec: { ...referenceModelSpec, epochs: opts.epochs },
              createdBy: session.config.identity,
              cache: opts.cache,
            },
            { live: !opts.json, workflowIdPrefix: 'demo', onStart },
          );
          if ('awaitingReview' in result)
            throw new Error('the demo asks for no review, yet its run waits for one');
          return result;
        },
        (result, session) =>
          printResult(opts, pipelineJson(result), () =>
            [
              describePipeline(result),
              '',
              `Artifacts and the registry live in ${session.config.artifactsUri}`,
              `Temporal: ${session.config.temporalAddress}${
                session.config.embeddedTemporal
                  ? ` (Web UI http://127.0.0.1:${session.config.env.SLIPWAY_TEMPORAL_UI_PORT})`
                  : ''
              }`,
            ].join('\n'),
          ),
      );
    });
}
