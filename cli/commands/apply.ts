import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadModelVersion, resolveModelRef, versionReport } from '../../application/models';
import { openWorkspace } from '../../application/workspace';
import { parseNumberOption } from '../numberOption';
import { log, printResult } from '../output';
import { UsageError } from '../usageError';

const loadModel = (ref: string) => loadModelVersion(openWorkspace(), ref);

/** `--monitor`: the scored batch's drift against the training data and its scores, recorded under the version. */
async function monitorBatch(
  opts: { input: string; output: string },
  model: { name: string; version: number },
  scoreColumn: string,
  threshold: number,
  scoreRange: 'probability' | 'observed',
): Promise<{ key: string; drifted: string[] }> {
  const { recordMonitoredBatch } = await import('../../application/monitor.js');
  const { batch, key } = await recordMonitoredBatch(openWorkspace(), {
    model: model.name,
    version: model.version,
    scoredPath: resolve(opts.output),
    input: opts.input,
    scoreColumn,
    threshold,
    recordedAt: new Date().toISOString(),
    scoreRange,
  });
  log(
    `slipway: monitored batch recorded (${batch.drifted.length === 0 ? 'no feature drifted' : `drifted: ${batch.drifted.join(', ')}`})`,
  );
  if (batch.drifted.length > 0) await notifyDrift(model, key, batch);
  return { key, drifted: batch.drifted };
}

/** Tells the webhooks that want it (best-effort: the scoring and the record stand either way). */
async function notifyDrift(
  model: { name: string; version: number },
  key: string,
  batch: {
    recordedAt: string;
    input: string;
    drifted: string[];
    features: Array<{ drifted: boolean; reason: string; feature: string }>;
  },
): Promise<void> {
  const { notifyMonitoredDrift } = await import('../../application/notify.js');
  const { monitoredBatchId } = await import('../../domain/validation/monitoring.js');
  const { withLazySession } = await import('../session.js');
  try {
    const started = await withLazySession((connect) =>
      notifyMonitoredDrift(openWorkspace(), connect, {
        model: model.name,
        version: model.version,
        batchId: monitoredBatchId(key),
        recordedAt: batch.recordedAt,
        input: batch.input,
        drifted: batch.drifted,
        reasons: batch.features.filter((f) => f.drifted).map((f) => `${f.feature} (${f.reason})`),
      }),
    );
    if (started) log(`slipway: drift notified (${started})`);
  } catch (err) {
    log(`slipway: the drift was recorded but could not be notified: ${(err as Error).message}`);
  }
}

export function registerApplyCommands(program: Command): void {
  program
    .command('apply')
    .description(
      'Score a CSV with a registered model (onnxruntime), as the operations platform does: columns are matched by ' +
        'feature name, every input column is kept, predicted(<target>) and probability(<target>) are added ' +
        '(anomaly versions: anomaly_score, higher is more anomalous, and predicted_outlier, negative for outliers).',
    )
    .argument('<model>', '<model>, <model>@<version> or <model>@<alias> (a bare name means production)')
    .requiredOption(
      '--input <file>',
      "CSV with a header row holding the model's features (any order, extra columns kept)",
    )
    .requiredOption('--output <file>', 'where to write the scored CSV (written whole or not at all)')
    .option(
      '--threshold <t>',
      'probability at or above which predicted is 1 (default: the registered threshold)',
    )
    .option('--output-name <name>', 'which model output holds the probability (multi-output models)')
    .option(
      '--general-csv',
      'read every line with the general CSV parser instead of the fast reader for plain numeric CSV (same output, slower)',
    )
    .option(
      '--monitor',
      "record the batch for `slipway monitor`: each feature's drift against the training data and the score distribution",
    )
    .option(
      '--explain <k>',
      'also name, per row, the k features that moved its probability most against the training means, with ' +
        'the signed change each caused (columns reason<i>(<target>), effect<i>(<target>); DeepLIFT rescale, ' +
        'the effects of all features sum to the probability minus that of the mean row)',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(
      async (
        ref: string,
        opts: {
          input: string;
          output: string;
          threshold?: string;
          outputName?: string;
          generalCsv?: boolean;
          monitor?: boolean;
          explain?: string;
          json?: boolean;
        },
      ) => {
        const threshold =
          opts.threshold === undefined
            ? undefined
            : parseNumberOption(opts.threshold, '--threshold', { min: 0, max: 1 });
        const model = await loadModel(ref);
        const k =
          opts.explain === undefined
            ? undefined
            : parseNumberOption(opts.explain, '--explain', {
                integer: true,
                min: 1,
                max: model.metadata.features.length,
              });
        if (k !== undefined && model.metadata.kind === 'anomaly') {
          throw new UsageError(
            `--explain explains a classifier's probability; ${model.name} v${model.version} is an anomaly model. ` +
              'Score it without --explain (its evaluation stores permutation importance: slipway models shows where).',
          );
        }
        log(`slipway: scoring with ${model.name} v${model.version}${model.via ? ` (${model.via})` : ''}`);
        if (model.metadata.kind === 'anomaly') {
          // An anomaly version: both columns come from the graph; there is no probability threshold.
          const { scoreAnomalyCsv } = await import('../../domain/scoring/anomalyCsv.js');
          const result = await scoreAnomalyCsv({
            inputPath: resolve(opts.input),
            outputPath: resolve(opts.output),
            onnx: model.onnx,
            features: model.metadata.features,
          });
          const monitored = opts.monitor
            ? await monitorBatch(opts, model, result.columns.score, model.metadata.threshold, 'observed')
            : undefined;
          const summary = {
            model: model.name,
            version: model.version,
            output: resolve(opts.output),
            ...result,
            ...(monitored ? { monitored } : {}),
          };
          printResult(
            opts,
            summary,
            () =>
              `Scored ${result.rowsScored} rows with ${model.name} v${model.version} in ${result.seconds.toFixed(1)} s: ` +
              `${result.outliers} outliers (predicted_outlier < 0).\n` +
              `Wrote ${summary.output} with ${result.columns.score} (higher is more anomalous) and ${result.columns.outlier}.`,
          );
          return;
        }
        // Loaded by this command only: CSV parsing and the ONNX runtime.
        const { scoreCsv } = await import('../../domain/scoring/scoreCsv.js');
        const outputName = opts.outputName ?? model.metadata.imported?.outputName;
        let explain: { graph: Uint8Array; k: number } | undefined;
        if (k !== undefined) {
          const { explainerForOnnx } = await import('../../domain/explain/rowExplainer.js');
          explain = {
            graph: explainerForOnnx(model.onnx, outputName ?? 'probability', model.metadata.features).graph,
            k,
          };
        }
        const result = await scoreCsv({
          inputPath: resolve(opts.input),
          outputPath: resolve(opts.output),
          onnx: model.onnx,
          features: model.metadata.features,
          target: model.metadata.target,
          threshold: threshold ?? model.metadata.threshold,
          outputName,
          parser: opts.generalCsv ? 'general' : 'auto',
          ...(explain ? { explain } : {}),
        });
        const monitored = opts.monitor
          ? await monitorBatch(
              opts,
              model,
              result.columns.probability,
              threshold ?? model.metadata.threshold,
              'probability',
            )
          : undefined;
        const summary = {
          model: model.name,
          version: model.version,
          output: resolve(opts.output),
          ...result,
          ...(monitored ? { monitored } : {}),
        };
        printResult(
          opts,
          summary,
          () =>
            `Scored ${result.rowsScored} rows with ${model.name} v${model.version} in ${result.seconds.toFixed(1)} s ` +
            `(${Math.round(result.rowsScored / Math.max(result.seconds, 1e-9))} rows/s): ${result.positives} predicted positive.\n` +
            `Wrote ${summary.output} with ${result.columns.predicted} and ${result.columns.probability}` +
            (result.columns.explanation
              ? ` and the ${k} strongest reasons per row (${result.columns.explanation.join(', ')}).`
              : '.'),
        );
      },
    );

  program
    .command('report')
    .description(
      'Write the evaluation report (self-contained HTML: curves, confusion matrix, training) of a model version.',
    )
    .argument('<model>', '<model>, <model>@<version> or <model>@<alias>')
    .requiredOption('--out <file>', 'where to write the .html file')
    .action(async (ref: string, opts: { out: string }) => {
      const ws = openWorkspace();
      const model = await resolveModelRef(ws, ref);
      const report = await versionReport(ws, model.name, model.version);
      if (!report) {
        throw new Error(
          `${model.name} v${model.version} was registered before reports existed; run the pipeline again for one.`,
        );
      }
      await writeFile(resolve(opts.out), report);
      process.stdout.write(`Wrote the report of ${model.name} v${model.version} to ${resolve(opts.out)}\n`);
    });

  const exportCommand = program.command('export').description('Package a model version for another system.');
  exportCommand
    .command('mltk')
    .description(
      'Write the .onnx file, the __mlspl_<name>.onnx.mlmodel lookup and UPLOAD.txt (name, features, target) for the operations platform.',
    )
    .argument('<model>', '<model>@<version> or <model>@<alias>')
    .requiredOption('--out <dir>', 'folder to write into (created if needed)')
    .option('--algo <name>', 'algorithm name recorded in the .mlmodel (default onnx)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (ref: string, opts: { out: string; algo?: string; json?: boolean }) => {
      const model = await loadModel(ref);
      // Loaded by this command only (it brings the ONNX protobuf code).
      const { writeMltkPackage } = await import('../../domain/mltk/mltkPackage.js');
      const { MODEL_CARD_FILE, readVersionSignature } = await import(
        '../../domain/registry/versionSignature.js'
      );
      const { SIGNATURE_FILE } = await import('../../domain/signing/modelSignature.js');
      const ws = openWorkspace();
      const card = await ws.registry.getModelCard(model.name, model.version);
      // The version's signature covers the default package (algorithm "onnx") and the card.
      const signature = await readVersionSignature(ws.store, model.name, model.version);
      const signed = signature !== undefined && (opts.algo === undefined || opts.algo === 'onnx');
      const pkg = await writeMltkPackage({
        outDir: resolve(opts.out),
        modelName: model.name,
        onnx: model.onnx,
        features: model.metadata.features,
        target: model.metadata.target,
        sizeLimitBytes: model.metadata.onnx.size.limit,
        algoName: opts.algo,
        extraFiles: [
          { name: MODEL_CARD_FILE, bytes: card },
          ...(signed ? [{ name: SIGNATURE_FILE, bytes: signature.text }] : []),
        ],
      });
      const signatureNote = signed
        ? `\n  ${resolve(opts.out, SIGNATURE_FILE)} (signature; \`slipway verify ${opts.out}\` checks it)`
        : signature
          ? '\n(not signed: the signature covers the package with algorithm "onnx"; export without --algo for a signed one)'
          : '\n(not signed: this version was registered before Slipway signed versions)';
      printResult(
        opts,
        { model: model.name, version: model.version, ...pkg, signed },
        () =>
          `Packaged ${model.name} v${model.version} in ${pkg.dir}:\n  ${pkg.files.onnx}\n  ${pkg.files.mlmodel}\n  ${pkg.files.uploadNotes}\n` +
          `(${pkg.size.base64Bytes} bytes after base64, limit ${pkg.size.limitBytes})${signatureNote}`,
      );
    });
}
