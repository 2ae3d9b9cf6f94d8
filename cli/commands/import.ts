import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { assertCanImport, checkImportSignature, gateForModel } from '../../application/access';
import type { ImportResult } from '../../application/results';
import { startImport } from '../../application/start';
import { openWorkspace } from '../../application/workspace';
import {
  IMPORT_HAS_NO_TRAINING_DATA,
  type ImportModelInput,
  importModelInputSchema,
} from '../../contracts/inputs';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { ANOMALY_TARGET } from '../../domain/import/anomalyConvention';
import { exitCodeFor } from '../exitCodes';
import { type AwaitingReview, followRun } from '../followRun';
import { addGateOptions, type GateFlags, gateSettingsFromFlags } from '../gateOptions';
import { numberOption } from '../numberOption';
import { keyValueTable, printResult } from '../output';
import { describeOutcome, stepsTable } from '../pipelineRun';
import { followFlagsSchema, followRunToEnd } from '../runEnd';
import type { Session } from '../session';
import { UsageError } from '../usageError';

const importOptionsSchema = followFlagsSchema.extend({
  model: z.string().min(1),
  features: z.string().min(1),
  target: z.string().min(1).optional(),
  kind: z.enum(['classifier', 'anomaly']).default('classifier'),
  threshold: z.number().gt(0).lt(1).optional(),
  outputName: z.string().min(1).optional(),
  opsetMin: z.number().int().min(1).optional(),
  sizeLimit: z.number().int().positive().optional(),
  eval: z.string().min(1).optional(),
  evalLabel: z.string().min(1).optional(),
  signature: z.string().min(1).optional(),
});

export function registerImportCommand(program: Command): void {
  const importCommand = program
    .command('import')
    .description(
      'Bring a model trained elsewhere into the registry, with the same gates, review and lineage.',
    );
  const onnx = importCommand
    .command('onnx')
    .description(
      'Import an ONNX file as a new model version. The file is checked before anything is registered: it parses, ' +
        'loads in onnxruntime, uses a supported opset, takes one float input [N, <number of features>], gives a ' +
        'number per row and fits the upload limit after base64. With --eval it is scored on labelled data and ' +
        'judged by the metric gate; without, the gate records "not evaluated" and a person must approve it.',
    )
    .argument('<file>', 'path, file://... or s3://bucket/key of the .onnx file')
    .requiredOption('--model <name>', 'model name, optionally <namespace>/<model>')
    .requiredOption('--features <list>', "comma-separated input columns, in the file's input order")
    .option('--target <column>', 'the 0/1 label a classifier predicts (required for classifiers)')
    .option(
      '--kind <kind>',
      'classifier (default) or anomaly: an outlier model (skl2onnx IsolationForest and other outlier exports, or a ' +
        'Slipway anomaly export); apply then adds anomaly_score (higher is more anomalous) and predicted_outlier ' +
        "(negative for outliers, scikit-learn's decision_function)",
    )
    .option(
      '--threshold <t>',
      'probability at or above which a row is predicted positive (default 0.5)',
      numberOption('--threshold', { above: 0, below: 1 }),
    )
    .option('--output-name <name>', "the output apply reads (default: the file's first output)")
    .option(
      '--opset-min <n>',
      'refuse files whose opset is older than this',
      numberOption('--opset-min', { integer: true, min: 1 }),
    )
    .option(
      '--size-limit <bytes>',
      'upload limit counted after base64 (default 15 MiB)',
      numberOption('--size-limit', { integer: true, min: 1 }),
    )
    .option('--eval <uri>', 'labelled CSV (path, s3:// or synthetic:...) to evaluate the file on')
    .option(
      '--eval-label <column>',
      'anomaly: the 0/1 column of the --eval data that marks anomalies (ROC-AUC, PR-AUC against anomaly_score)',
    )
    .option(
      '--signature <file>',
      "the file's signature (model.sig, OpenSSF model-signing format) by one of the namespace's trusted signers; " +
        'checked before anything is stored, and required where the policy says so',
    )
    .option('--no-cache', 'evaluate again even when an earlier run did the same')
    .option('--wait', 'with a review, keep waiting for the decision instead of returning when it starts')
    .option('--json', 'print one JSON object on stdout');
  addGateOptions(onnx)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  slipway import onnx nn_botnet.onnx --model secops/botnet --target botnet \\\n' +
        '    --features avgBytes,avgDuration,numFlows,sumBytes,uniqueDstIp,uniqueDstPort,uniqueProtocols \\\n' +
        '    --approvers alice,bob\n' +
        '  slipway import onnx s3://handover/nn_botnet.onnx --model secops/botnet --target botnet --features ... \\\n' +
        '    --eval s3://handover/netflow-labelled.csv --min-recall 0.8\n' +
        '  slipway import onnx iforest.onnx --kind anomaly --model secops/winevents-iforest \\\n' +
        '    --features count_4624,count_4625,count_4688 --approvers alice',
    )
    .action(async (file: string, raw: Record<string, unknown>) => {
      const opts = importOptionsSchema.parse(raw);
      // Shared gate options that judge training data: an import has none, so they would do nothing.
      for (const [key, flag] of [
        ['onAnomaly', '--on-anomaly'],
        ['maxDriftPsi', '--max-drift-psi'],
        ['maxDriftKs', '--max-drift-ks'],
      ] as const) {
        if (raw[key] !== undefined) throw new UsageError(IMPORT_HAS_NO_TRAINING_DATA(flag));
      }
      if (opts.kind === 'classifier' && opts.target === undefined) {
        throw new UsageError('--target is required for a classifier import (the 0/1 label it predicts)');
      }
      const ws = openWorkspace();
      // Who may import and approve here is the namespace's call; ask before starting anything.
      await assertCanImport(ws, opts.model);
      const source = parseDatasetSource(file).uri;
      const signature =
        opts.signature === undefined
          ? undefined
          : await readFile(opts.signature, 'utf8').catch((err: NodeJS.ErrnoException) => {
              throw new UsageError(
                `--signature ${opts.signature}: cannot read it (${err.code ?? err.message}).`,
              );
            });
      const signed = await checkImportSignature(ws, opts.model, source, signature);
      if (signed.signer) process.stderr.write(`slipway: signature verified (signed by ${signed.signer})\n`);
      const gate = await gateForModel(
        ws,
        opts.model,
        gateSettingsFromFlags(raw as GateFlags),
        opts.eval === undefined,
      );
      const input = importModelInputSchema.parse({
        source,
        modelName: opts.model,
        signature,
        features: opts.features.split(',').map((f) => f.trim()),
        target: opts.target ?? ANOMALY_TARGET,
        kind: opts.kind,
        threshold: opts.threshold,
        outputName: opts.outputName,
        opsetMin: opts.opsetMin,
        sizeLimitBytes: opts.sizeLimit,
        evaluation: opts.eval === undefined ? undefined : parseDatasetSource(opts.eval).uri,
        evalLabel: opts.evalLabel,
        createdBy: ws.identity,
        cache: opts.cache,
        gate,
      } satisfies ImportModelInput);
      await followRunToEnd(
        opts,
        (session, onStart) =>
          followImport(session, input, { live: !opts.json, waitForReview: opts.wait === true, onStart }),
        (result) => printResult(opts, importJson(result), () => describeImport(result)),
      );
    });
}

/** Starts importModel and follows it to its result, or (unless `waitForReview`) to its review. */
async function followImport(
  session: Session,
  input: ImportModelInput,
  options: { live: boolean; waitForReview: boolean; onStart(workflowId: string): void },
): Promise<ImportResult | AwaitingReview> {
  const handle = await startImport(session, input);
  process.stderr.write(`slipway: started ${handle.workflowId}\n`);
  options.onStart(handle.workflowId);
  return followRun(session, handle, {
    live: options.live,
    waitForReview: options.waitForReview,
    pollMs: 500,
  });
}

export function importJson(result: ImportResult) {
  return {
    workflowId: result.workflowId,
    model: result.model,
    version: result.version,
    outcome: result.outcome,
    exitCode: exitCodeFor(result.outcome),
    origin: result.imported.origin,
    onnx: { uri: result.imported.onnx.uri, sha256: result.imported.onnx.sha256 },
    facts: result.imported.facts,
    metrics: result.evaluation?.metrics,
    gate: result.gate,
    review: result.review,
    promotion: result.promotion,
  };
}

export function describeImport(result: ImportResult): string {
  const m = result.evaluation?.metrics;
  return [
    `${result.model} version ${result.version} imported from ${result.imported.origin.uri}`,
    '',
    keyValueTable([
      ['sha256', result.imported.origin.sha256],
      ['input', result.imported.facts.inputName],
      [
        'scored output',
        `${result.imported.facts.outputName} (of ${result.imported.facts.outputs.join(', ')})`,
      ],
      ['opset', result.imported.facts.opset],
      [
        'evaluation',
        m
          ? `recall ${m.recall.toFixed(3)}, precision ${m.precision.toFixed(3)}, FPR ${(m.fpr * 100).toFixed(2)} %, PR-AUC ${m.prAuc.toFixed(3)}`
          : 'not evaluated (no --eval data)',
      ],
      ['gate', result.gate.checks.map((c) => c.message).join('; ')],
      ['outcome', describeOutcome(result)],
    ]),
    '',
    stepsTable(result.steps),
  ].join('\n');
}
