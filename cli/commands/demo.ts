import type { Command } from 'commander';
import { z } from 'zod';
import { trainAnomalyInputSchema } from '../../contracts/inputs';
import { WIN_EVENT_COUNT_COLUMNS, WIN_EVENTS_LABEL } from '../../domain/data/syntheticWinEvents';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { anomalyRunJson, describeAnomalyRun, runAnomaly } from '../anomalyRun';
import { numberOption } from '../numberOption';
import { printResult } from '../output';
import { describePipeline, pipelineJson, runPipeline } from '../pipelineRun';
import { followRunToEnd } from '../runEnd';

const demoOptionsSchema = z.object({
  rows: z.number().int().min(1000).max(10_000_000).optional(),
  epochs: z.number().int().min(1).max(1000).optional(),
  kind: z.enum(['classifier', 'anomaly']).default('classifier'),
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
      'rows of synthetic data (default 284,807, the reference data set; 50,000 with --kind anomaly)',
      numberOption('--rows', { integer: true, min: 1000, max: 10_000_000 }),
    )
    .option(
      '--epochs <n>',
      'training epochs (default 50, the reference; 40 with --kind anomaly)',
      numberOption('--epochs', { integer: true, min: 1, max: 1000 }),
    )
    .option(
      '--kind <kind>',
      'classifier (default) or anomaly: an autoencoder on synthetic:winevents (hourly Windows event counts), ' +
        'evaluated against its hidden label',
    )
    .option(
      '--seed <n>',
      'generator seed',
      numberOption('--seed', { integer: true, min: 0, max: 2 ** 31 - 1 }),
      42,
    )
    .option('--no-cache', 'run every step even when an earlier run computed the same outputs')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nA quick run: slipway demo --rows 20000 --epochs 3\nAn anomaly model: slipway demo --kind anomaly',
    )
    .action(async (raw: Record<string, unknown>) => {
      const opts = demoOptionsSchema.parse(raw);
      if (opts.kind === 'anomaly') {
        await followRunToEnd(
          opts,
          async (session, onStart) => {
            const result = await runAnomaly(
              session,
              trainAnomalyInputSchema.parse({
                source: `synthetic:winevents?rows=${opts.rows ?? 50_000}&seed=${opts.seed}`,
                modelName: 'winevents-demo',
                features: ['hour', ...WIN_EVENT_COUNT_COLUMNS],
                evalLabel: WIN_EVENTS_LABEL,
                spec: { epochs: opts.epochs ?? 40 },
                createdBy: session.config.identity,
                cache: opts.cache,
              }),
              { live: !opts.json, onStart },
            );
            if ('awaitingReview' in result)
              throw new Error('the demo asks for no review, yet its run waits for one');
            return result;
          },
          (result) => printResult(opts, anomalyRunJson(result), () => describeAnomalyRun(result)),
        );
        return;
      }
      await followRunToEnd(
        opts,
        async (session, onStart) => {
          const result = await runPipeline(
            session,
            {
              source: `synthetic:fraud?rows=${opts.rows ?? 284_807}&seed=${opts.seed}`,
              target: DEFAULT_TARGET_COLUMN,
              modelName: 'fraud-demo',
              spec: { ...referenceModelSpec, epochs: opts.epochs ?? 50 },
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
              `Temporal: ${session.config.temporalAddress}${session.temporalUi ? ` (Web UI ${session.temporalUi})` : ''}`,
            ].join('\n'),
          ),
      );
    });
}
