import { countParameters, type ModelSpec } from '../ml/modelSpec';
import type { ArtifactRef } from '../storage/artifactRef';
import type { ModelArtifacts, ModelVersionMetadata, TrainingConfig } from './metadata';

/** What the card is rendered from: the metadata before the registry adds its registration section. */
export type ModelCardInput = Omit<ModelVersionMetadata, 'registration' | 'schemaVersion'>;

/**
 * A short Markdown model card for one registered version. Pure and deterministic: the same
 * metadata always gives the same bytes (no clock, no locale-dependent formatting), so the card's
 * content address is stable and a retried registration stores nothing new.
 */
export function renderModelCard(meta: ModelCardInput): string {
  const ref = `${meta.name}@${meta.version}`;
  const lines = [
    `# Model card: ${meta.name} version ${meta.version}`,
    '',
    'Generated from the registry metadata document, which is authoritative.',
    '',
    '## Intended use',
    '',
    (meta.kind === 'anomaly'
      ? `Anomaly model: from ${meta.features.length} features it returns ${code('anomaly_score')} ` +
        `(higher is more anomalous) and ${code('predicted_outlier')} = threshold ${formatNumber(meta.threshold)} ` +
        `- anomaly_score, negative for outliers (as scikit-learn's decision_function)` +
        (meta.anomaly?.contamination !== undefined
          ? `; the threshold flags ${formatPercent(meta.anomaly.contamination)} of the training rows`
          : meta.anomaly?.thresholdFrom === 'graph'
            ? '; the threshold is the one its graph computes'
            : meta.anomaly?.thresholdFrom === 'unknown'
              ? "; the file's predicted_outlier is not threshold - anomaly_score for one threshold, so the registered threshold describes nothing: read predicted_outlier"
              : '') +
        '. ' +
        (meta.anomaly?.categorical?.length
          ? `Categorical features (string inputs [N, 1] of the graph, frequency-encoded inside it: the share of ` +
            `training rows with that category, 0 for a category never seen in training): ` +
            `${meta.anomaly.categorical.map((c) => `${code(c.feature)} (${c.seenInTraining} categories)`).join(', ')}. `
          : '')
      : `Binary classifier: from ${meta.features.length} ${meta.training?.categorical?.length || meta.imported?.categorical?.length ? '' : 'numeric '}features it returns the probability that ` +
        `${code(meta.target)} is 1 (the positive class); rows at or above the threshold ` +
        `${formatNumber(meta.threshold)} are predicted positive. ` +
        (meta.training?.categorical?.length
          ? `Categorical features (string inputs [N, 1] of the graph, frequency-encoded inside it: the share of ` +
            `training rows with that category, 0 for a category never seen in training): ` +
            `${meta.training.categorical.map((c) => `${code(c.feature)} (${c.seenInTraining} categories)`).join(', ')}. `
          : meta.imported?.categorical?.length
            ? `It takes ${meta.imported.categorical.map(code).join(', ')} as text (string inputs [N, 1] of the graph, ` +
              'encoded inside it as the file was made). '
            : '')) +
      'Use it on rows whose columns mean what they ' +
      'meant in the training data; data that has drifted away from it needs a fresh evaluation before the ' +
      'scores are trusted.',
    '',
    ...dataSection(meta),
    '## Features and target',
    '',
    `- Target: ${code(meta.target)}`,
    `- Features (${meta.features.length}, in this order): ${meta.features.map(code).join(', ')}`,
    '',
    ...metricsSection(meta),
    ...importanceSection(meta),
    ...(meta.training ? trainingSection(meta, meta.training) : []),
    ...(meta.autoencoder
      ? [
          '## Training',
          '',
          `- Network: dense autoencoder ${meta.features.length}-${meta.autoencoder.hidden.join('-')}-${meta.features.length}, ` +
            `${meta.autoencoder.activation} hidden layers, linear output; loss ${meta.autoencoder.loss} on the scaled ` +
            'features (no labels read)',
          `- Adam, learning rate ${formatNumber(meta.autoencoder.learningRate)}, batch ${formatInt(meta.autoencoder.batchSize)}, ` +
            `seed ${meta.autoencoder.seed}; ${meta.autoencoder.epochsRun} epochs, final loss ${formatNumber(meta.autoencoder.finalLoss)}`,
          `- Backend: ${code(meta.backend)}${meta.backendDetails ? ` (${meta.backendDetails})` : ''}`,
          '',
        ]
      : []),
    '## Lineage',
    '',
    '| Artifact | sha256 | Bytes | URI |',
    '| --- | --- | --- | --- |',
    ...lineageRows(meta.artifacts),
    '',
    `- Workflow ${code(meta.workflowId)}, run ${code(meta.runId)}`,
    `- Code version ${code(meta.codeVersion)}`,
    `- Created ${meta.createdAt} by ${code(meta.createdBy)}`,
    ...(meta.pipelineFile
      ? [
          `- Pipeline file ${code(meta.pipelineFile.path)}, sha256 ${code(meta.pipelineFile.sha256)} ` +
            '(its text is in the version metadata)',
        ]
      : []),
    ...(meta.tuning
      ? [
          `- Chosen by a search (${meta.tuning.method}, workflow ${code(meta.tuning.workflowId)}): trial ` +
            `${meta.tuning.bestTrial} of ${meta.tuning.trials} (${meta.tuning.completed} completed, ` +
            `${meta.tuning.stopped} stopped early, ${meta.tuning.failed} failed), validation loss ` +
            `${meta.tuning.objective.toPrecision(4)}, with ${Object.entries(meta.tuning.settings)
              .map(([k, v]) => `${k} = ${v}`)
              .join(', ')}; every trial's settings, curve and end are in the tuning artifact`,
        ]
      : []),
    `- Packages: ${describePackages(meta.packageVersions)}`,
    '',
    meta.imported ? '## ONNX file' : '## ONNX export',
    '',
    ...(meta.onnx.parity
      ? [
          `- Parity with the trained model: max absolute difference ${formatSmall(meta.onnx.parity.maxAbsDiff)} over ` +
            `${formatInt(meta.onnx.parity.rowsCompared)} rows` +
            (meta.onnx.parity.onnxBoundUsed !== undefined && meta.onnx.parity.trainerBoundUsed !== undefined
              ? `; worst error against the exact model ${formatPercent(meta.onnx.parity.onnxBoundUsed)} of its ` +
                `float32 rounding bound (onnxruntime), ${formatPercent(meta.onnx.parity.trainerBoundUsed)} (trainer)` +
                (meta.onnx.parity.rowsJudged !== undefined &&
                meta.onnx.parity.rowsJudged < meta.onnx.parity.rowsCompared
                  ? `, judged on ${formatInt(meta.onnx.parity.rowsJudged)} selected rows`
                  : '')
              : ''),
        ]
      : []),
    ...(meta.imported
      ? [
          `- Input ${code(meta.imported.inputName)}; outputs ${meta.imported.outputs.map(code).join(', ')} ` +
            `(scored: ${code(meta.imported.outputName)}); opset ${meta.imported.opset}` +
            (meta.imported.producer ? `; produced by ${code(meta.imported.producer)}` : ''),
          ...(meta.imported.referenceCheck
            ? [
                meta.imported.referenceCheck.checked
                  ? `- Checked against the exact evaluation of its ${meta.imported.referenceCheck.denseLayers} dense layers ` +
                    `on ${meta.imported.referenceCheck.rows} seeded rows: onnxruntime's worst error is ` +
                    `${formatPercent(meta.imported.referenceCheck.worstBoundUsed)} of its float32 rounding bound`
                  : `- Not checked against an exact evaluation: ${meta.imported.referenceCheck.reason}`,
              ]
            : []),
          ...(meta.imported.adaptation
            ? [
                `- Changed on import: ${meta.imported.adaptation.description} (stored file sha256 ` +
                  `${code(meta.imported.adaptation.storedSha256)})`,
              ]
            : []),
        ]
      : []),
    `- Size: ${formatInt(meta.onnx.size.bytes)} bytes, ${formatInt(meta.onnx.size.base64Bytes)} after base64 ` +
      `(upload limit ${formatInt(meta.onnx.size.limit)})`,
    '',
    '## How to score',
    '',
    '```sh',
    `slipway apply ${ref} --input rows.csv --output scored.csv`,
    '```',
    '',
    'The input needs the feature columns above, in any order; the output keeps every input column and adds ' +
      `${code(`predicted(${meta.target})`)} and the probability. The ONNX file takes one float32 tensor of ` +
      `shape [N, ${meta.features.length}] holding the features in the order above ` +
      (meta.imported
        ? '(raw values, unless its authors documented a preprocessing step outside the file) '
        : '(raw, unscaled: the scaler is inside the graph) ') +
      'and returns the probability of the positive class. To use it in the operations ' +
      `platform, upload that file with the feature variables in this order and the target variable ${code(meta.target)}.`,
    '',
  ];
  return lines.join('\n');
}

function dataSection(meta: ModelCardInput): string[] {
  if (meta.imported) {
    const imported = meta.imported;
    return [
      '## Origin',
      '',
      `- Imported from ${code(imported.originUri)} (sha256 ${code(imported.sha256)})`,
      `- Imported ${imported.importedAt} by ${code(imported.importedBy)}; trained outside Slipway`,
      imported.evaluationSourceUri
        ? `- Evaluated here on ${code(imported.evaluationSourceUri)}`
        : '- Not evaluated here: no labelled data was given, so a person approved it without metrics',
      '',
    ];
  }
  const split = meta.training?.split ?? meta.autoencoder?.split;
  return [
    '## Data',
    '',
    `- Source: ${code(meta.sourceUri)}`,
    ...(meta.artifacts.dataset ? [`- Dataset sha256: ${code(meta.artifacts.dataset.sha256)}`] : []),
    ...(split
      ? [
          `- Split: ${formatPercent(1 - split.testFraction)} training (${formatInt(split.trainRows)} rows) / ` +
            `${formatPercent(split.testFraction)} held out (${formatInt(split.testRows)} rows), seed ${split.seed}, ` +
            `${split.stratified ? 'stratified' : 'not stratified'}`,
        ]
      : []),
    '',
  ];
}

function metricsSection(meta: ModelCardInput): string[] {
  const { metrics } = meta;
  if (!metrics) {
    return ['## Metrics', '', 'Not evaluated: no labelled data was given for this version.', ''];
  }
  const where = meta.imported ? 'the evaluation data' : 'held-out split';
  return [
    `## Metrics (${where}, threshold ${formatNumber(meta.threshold)})`,
    '',
    '| Metric | Value |',
    '| --- | --- |',
    `| True positives | ${formatInt(metrics.tp)} |`,
    `| False positives | ${formatInt(metrics.fp)} |`,
    `| True negatives | ${formatInt(metrics.tn)} |`,
    `| False negatives | ${formatInt(metrics.fn)} |`,
    `| Precision | ${formatMetric(metrics.precision)} |`,
    `| Recall | ${formatMetric(metrics.recall)} |`,
    `| False-positive rate | ${formatMetric(metrics.fpr)} |`,
    `| F1 | ${formatMetric(metrics.f1)} |`,
    `| ROC AUC | ${formatMetric(metrics.rocAuc)} |`,
    `| PR AUC | ${formatMetric(metrics.prAuc)} |`,
    '',
  ];
}

function importanceSection(meta: ModelCardInput): string[] {
  const imp = meta.importance;
  if (!imp) return [];
  const shown = imp.ranking.slice(0, 10);
  return [
    '## Feature importance',
    '',
    imp.metric === 'prAuc'
      ? `Permutation importance: the drop in PR-AUC (${formatMetric(imp.baseline)} unshuffled) when one feature is ` +
        `shuffled among ${formatInt(imp.rowsUsed)} evaluation rows, mean of ${imp.repeats} shuffles with its 95 % interval` +
        (shown.length < imp.ranking.length ? `; the ${shown.length} highest of ${imp.ranking.length}` : '') +
        '.'
      : `Permutation importance: the mean absolute change of anomaly_score per row when one feature is shuffled among ` +
        `${formatInt(imp.rowsUsed)} held-out rows (no labels were given), mean of ${imp.repeats} shuffles with its 95 % interval` +
        (shown.length < imp.ranking.length ? `; the ${shown.length} highest of ${imp.ranking.length}` : '') +
        '.',
    '',
    '| Rank | Feature | Mean drop | 95 % interval |',
    '| ---: | --- | ---: | --- |',
    ...shown.map(
      (f, i) =>
        `| ${i + 1} | ${code(f.feature)} | ${formatMetric(f.mean)} | ${formatMetric(f.low)} to ${formatMetric(f.high)} |`,
    ),
    '',
  ];
}

function trainingSection(meta: ModelCardInput, training: TrainingConfig): string[] {
  const spec = training.modelSpec;
  return [
    '## Training',
    '',
    `- Network: ${describeLayers(spec)} (${formatInt(countParameters(spec, meta.features.length))} parameters)`,
    `- Optimizer: ${spec.optimizer}, learning rate ${formatNumber(spec.learningRate)}, loss ${spec.loss}, ` +
      `batch ${formatInt(spec.batchSize)}, seed ${spec.seed}`,
    `- Epochs: ${training.epochsRun} run of ${spec.epochs} planned`,
    `- Class weights: ${training.classWeights.mode} (negative ${formatNumber(training.classWeights.weights.negative)}, ` +
      `positive ${formatNumber(training.classWeights.weights.positive)})`,
    `- Backend: ${code(meta.backend)}${meta.backendDetails ? ` (${meta.backendDetails})` : ''}`,
    '',
  ];
}

const ARTIFACT_LABELS: Array<[keyof ModelArtifacts, string]> = [
  ['dataset', 'Dataset'],
  ['datasetSummary', 'Dataset summary'],
  ['scaler', 'Scaler'],
  ['model', 'Trained model'],
  ['onnx', 'ONNX'],
  ['evaluation', 'Evaluation'],
  ['importance', 'Feature importance'],
];

function lineageRows(artifacts: ModelArtifacts): string[] {
  return ARTIFACT_LABELS.flatMap(([key, label]) => {
    const ref = artifacts[key];
    return ref ? [lineageRow(label, ref)] : [];
  });
}

function lineageRow(label: string, ref: ArtifactRef): string {
  return `| ${label} | ${code(ref.sha256)} | ${formatInt(ref.bytes)} | ${code(ref.uri)} |`;
}

function describeLayers(spec: ModelSpec): string {
  return spec.layers
    .map((layer) =>
      layer.type === 'dense'
        ? `Dense(${layer.units}, ${layer.activation})`
        : `Dropout(${formatNumber(layer.rate)})`,
    )
    .join(' -> ');
}

function describePackages(versions: Record<string, string>): string {
  const names = Object.keys(versions).sort();
  if (names.length === 0) return 'not recorded';
  return names.map((name) => `${code(name)} ${versions[name]}`).join(', ');
}

/**
 * An inline code span that survives any content: a longer backtick fence than the text contains,
 * and "|" escaped so a value cannot split a table row.
 */
function code(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padded = longestRun > 0 ? ` ${text} ` : text;
  return `${fence}${padded.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}${fence}`;
}

/** 284807 -> "284,807": fixed grouping, independent of the process locale. */
export function formatInt(n: number): string {
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.abs(Math.trunc(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatMetric(x: number): string {
  return x.toFixed(4);
}

/** Up to 6 significant digits without trailing zeros: 0.01, 0.3, 0.00000352. */
function formatNumber(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function formatSmall(x: number): string {
  return x === 0 ? '0' : x.toExponential(2);
}

function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))} %`;
}
