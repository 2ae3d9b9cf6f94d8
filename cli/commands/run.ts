import type { Command } from 'commander';
import { z } from 'zod';
import { gateForModel } from '../../application/access';
import { pipelineRunInput, readPipelineFile } from '../../application/pipelineFile';
import { openWorkspace } from '../../application/workspace';
import { trainToDeployInputSchema } from '../../contracts/inputs';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import {
  addKindOptions,
  anomalyRunInput,
  anomalyRunJson,
  checkCategoricalFlag,
  checkKindOptions,
  describeAnomalyRun,
  runAnomaly,
} from '../anomalyRun';
import { addGateOptions, type GateFlags, gateSettingsFromFlags } from '../gateOptions';
import { numberOption } from '../numberOption';
import { printResult } from '../output';
import { overridesFromFlags } from '../pipelineFileOptions';
import { describePipeline, pipelineJson, runPipeline } from '../pipelineRun';
import { followFlagsSchema, followRunToEnd } from '../runEnd';
import { addTrainingOptions } from '../trainingOptions';
import { UsageError } from '../usageError';
import { showStatus } from './status';

const runOptionsSchema = followFlagsSchema.extend({
  file: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  target: z.string().min(1),
  model: z.string().min(1).optional(),
  features: z.string().optional(),
  epochs: z.number().int().min(1).max(10_000).optional(),
  threshold: z.number().gt(0).lt(1).optional(),
  classWeights: z.enum(['inverse', 'balanced', 'none']).optional(),
  kind: z.enum(['classifier', 'anomaly']).default('classifier'),
  contamination: z.number().gt(0).lt(0.5).optional(),
  evalLabel: z.string().min(1).optional(),
  categorical: z.string().min(1).optional(),
});

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description(
      'Run the training-to-deployment pipeline on a data source and register the result as a new model version.',
    )
    .option(
      '-f, --file <path>',
      'a pipeline file (slipway.yaml, written by `slipway init`) with everything the run needs; flags override it',
    )
    .option(
      '--source <uri>',
      'a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S (required without -f)',
    )
    .option(
      '--model <name>',
      'registered model name (lowercase letters, digits, ".", "_", "-"; required without -f)',
    );
  addTrainingOptions(command)
    .option(
      '--threshold <t>',
      'probability at or above which a row is predicted positive (default 0.5)',
      numberOption('--threshold', { above: 0, below: 1 }),
    )
    .option('--class-weights <mode>', 'inverse (1/count, default), balanced or none');
  addKindOptions(command)
    .option('--no-cache', 'run every step even when an earlier run computed the same outputs')
    .option(
      '--wait',
      'with a review, keep waiting for the decision instead of returning when the review starts',
    )
    .option('--json', 'print one JSON object on stdout');
  addGateOptions(command)
    .addHelpText(
      'after',
      '\nExamples:\n  slipway run -f slipway.yaml --epochs 5\n  slipway run --source data/transactions.csv --target Class --model card-fraud --epochs 20\n' +
        '  slipway run --kind anomaly --source "synthetic:winevents?rows=20000&seed=7" --model secops/winevents \\\n' +
        '    --features hour,EventCode_4624,EventCode_4625,EventCode_4634,EventCode_4648,EventCode_4672,EventCode_4688,' +
        'EventCode_4720,EventCode_4732,EventCode_4768,EventCode_4769 --eval-label anomalous',
    )
    .action(async (raw: Record<string, unknown>, cmd: Command) => {
      const opts = runOptionsSchema.parse(raw);
      checkKindOptions(opts);
      if (opts.file !== undefined) {
        if (opts.kind === 'anomaly') {
          throw new UsageError(
            'a pipeline file describes a classifier run; start an anomaly run with flags (--kind anomaly) instead of -f',
          );
        }
        // Read before anything else, so a bad file is refused before any connection is made.
        const loaded = readPipelineFile(opts.file);
        const ws = openWorkspace();
        const overrides = overridesFromFlags(cmd, raw, loaded);
        const modelName = overrides.modelName ?? loaded.pipeline.model;
        const gate = await gateForModel(ws, modelName, overrides.gate);
        const input = pipelineRunInput(loaded, { ...overrides, gate }, ws.identity);
        await followRunToEnd(
          opts,
          (session, onStart) =>
            runPipeline(session, input, { live: !opts.json, waitForReview: opts.wait, onStart }),
          (result) => printResult(opts, pipelineJson(result), () => describePipeline(result)),
        );
        return;
      }
      if (opts.source === undefined || opts.model === undefined) {
        throw new UsageError(
          'give --source <uri> and --model <name>, or -f <pipeline file> (`slipway init` writes one)',
        );
      }
      const ws = openWorkspace();
      const gate = await gateForModel(ws, opts.model, gateSettingsFromFlags(raw as GateFlags));
      if (opts.kind === 'anomaly') {
        const anomalyInput = anomalyRunInput(
          { ...opts, source: opts.source, model: opts.model },
          ws.identity,
          gate,
        );
        await followRunToEnd(
          opts,
          (session, onStart) =>
            runAnomaly(session, anomalyInput, { live: !opts.json, waitForReview: opts.wait, onStart }),
          (result) => printResult(opts, anomalyRunJson(result), () => describeAnomalyRun(result)),
        );
        return;
      }
      const input = trainToDeployInputSchema.parse({
        source: parseDatasetSource(opts.source).uri,
        target: opts.target,
        features: opts.features?.split(',').map((f) => f.trim()),
        categorical: opts.categorical?.split(',').map((f) => f.trim()),
        modelName: opts.model,
        spec: { ...referenceModelSpec, epochs: opts.epochs ?? referenceModelSpec.epochs },
        threshold: opts.threshold,
        classWeights: opts.classWeights,
        createdBy: ws.identity,
        cache: opts.cache,
        gate,
      });
      checkCategoricalFlag(input);
      await followRunToEnd(
        opts,
        (session, onStart) =>
          runPipeline(session, input, { live: !opts.json, waitForReview: opts.wait, onStart }),
        (result) => printResult(opts, pipelineJson(result), () => describePipeline(result)),
      );
    });

  program
    .command('status')
    .description(
      'Show how a run stands (trained, imported or scheduled): its steps, its result when done, and when it failed ' +
        'or was cancelled, why (the error type, message and step, or who cancelled it and why).',
    )
    .argument(
      '<workflowId>',
      'as printed by `slipway run`, `demo` or `import`, or listed by `schedule describe`',
    )
    .option('--json', 'print one JSON object on stdout')
    .action((workflowId: string, opts: { json?: boolean }) => showStatus(workflowId, opts));
}
