import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../../config/env';
import { ModelAccess } from '../../domain/access/modelAccess';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { trainToDeployInputSchema } from '../../workflows/inputs';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { progressQuery } from '../../workflows/trainToDeploy';
import {
  addGateOptions,
  type GateFlags,
  gateSettingsFromFlags,
  withNamespaceApprovers,
} from '../gateOptions';
import { numberOption } from '../numberOption';
import { printResult } from '../output';
import {
  describeAwaitingReview,
  describeEpoch,
  describePipeline,
  pipelineJson,
  runPipeline,
  stepsTable,
} from '../pipelineRun';
import { openSession } from '../session';

const runOptionsSchema = z.object({
  source: z.string().min(1),
  target: z.string().min(1),
  model: z.string().min(1),
  features: z.string().optional(),
  epochs: z.number().int().min(1).max(10_000).optional(),
  threshold: z.number().gt(0).lt(1).optional(),
  classWeights: z.enum(['inverse', 'balanced', 'none']).optional(),
  cache: z.boolean().default(true),
  wait: z.boolean().optional(),
  json: z.boolean().optional(),
});

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description(
      'Run the training-to-deployment pipeline on a data source and register the result as a new model version.',
    )
    .requiredOption(
      '--source <uri>',
      'a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S',
    )
    .requiredOption('--model <name>', 'registered model name (lowercase letters, digits, ".", "_", "-")')
    .option('--target <column>', 'the 0/1 label column', 'Class')
    .option('--features <list>', 'comma-separated feature columns in order (default: all but the target)')
    .option(
      '--epochs <n>',
      'training epochs (default 50, the reference)',
      numberOption('--epochs', { integer: true, min: 1, max: 10_000 }),
    )
    .option(
      '--threshold <t>',
      'probability at or above which a row is predicted positive (default 0.5)',
      numberOption('--threshold', { above: 0, below: 1 }),
    )
    .option('--class-weights <mode>', 'inverse (1/count, default), balanced or none')
    .option('--no-cache', 'run every step even when an earlier run computed the same outputs')
    .option(
      '--wait',
      'with a review, keep waiting for the decision instead of returning when the review starts',
    )
    .option('--json', 'print one JSON object on stdout');
  addGateOptions(command)
    .addHelpText(
      'after',
      '\nExample:\n  slipway run --source data/transactions.csv --target Class --model card-fraud --epochs 20',
    )
    .action(async (raw: Record<string, unknown>) => {
      const opts = runOptionsSchema.parse(raw);
      const config = loadConfig();
      const access = new ModelAccess(new ModelRegistry(openArtifactStore(config)));
      const gate = await withNamespaceApprovers(access, opts.model, gateSettingsFromFlags(raw as GateFlags));
      const input = trainToDeployInputSchema.parse({
        source: parseDatasetSource(opts.source).uri,
        target: opts.target,
        features: opts.features?.split(',').map((f) => f.trim()),
        modelName: opts.model,
        spec: { ...referenceModelSpec, epochs: opts.epochs ?? referenceModelSpec.epochs },
        threshold: opts.threshold,
        classWeights: opts.classWeights,
        createdBy: config.identity,
        cache: opts.cache,
        gate,
      });
      const session = await openSession();
      try {
        const result = await runPipeline(session, input, { live: !opts.json, waitForReview: opts.wait });
        if ('awaitingReview' in result) {
          printResult(opts, result, () => describeAwaitingReview(result));
          return;
        }
        printResult(opts, pipelineJson(result), () => describePipeline(result));
      } finally {
        await session.close();
      }
    });

  program
    .command('status')
    .description('Show the steps of a running or finished pipeline, and its result when done.')
    .argument('<workflowId>', 'as printed by `slipway run` or `slipway demo`')
    .option('--json', 'print one JSON object on stdout')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const session = await openSession({ needWorker: false });
      try {
        const handle = session.client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        const status = description.status.name;
        if (status === 'COMPLETED') {
          const result = (await handle.result()) as PipelineResult;
          printResult(opts, { status, ...pipelineJson(result) }, () => describePipeline(result));
          return;
        }
        const progress = await handle.query(progressQuery).catch(() => undefined);
        printResult(opts, { workflowId, status, progress }, () => {
          if (!progress) return `${workflowId}: ${status}`;
          const last = progress.training.epochs.at(-1);
          return [
            `${workflowId}: ${status}${progress.current ? `, running ${progress.current}` : ''}`,
            stepsTable(progress.steps),
            last ? `\ntraining: epoch ${last.epoch}/${last.epochs}, ${describeEpoch(last)}` : '',
            progress.review
              ? `\n${describeAwaitingReview({ awaitingReview: true, workflowId, progress })}`
              : '',
          ].join('\n');
        });
      } finally {
        await session.close();
      }
    });
}
