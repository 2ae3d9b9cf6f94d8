import type { ExtractedDataset, ImportedOnnx, RegisteredModel } from '../activities';
import type { EvaluatedModel } from '../activities/evaluate';
import type { GateDecision } from '../activities/gate';
import { type ImportModelInput, importModelInputSchema } from '../contracts/inputs';
import { importSteps, type StepStatus } from '../contracts/progress';
import { notEvaluatedGate } from '../domain/gate/metricGate';
import {
  ANOMALY_CONVENTION,
  ANOMALY_SCORE_OUTPUT,
  PREDICTED_OUTLIER_OUTPUT,
} from '../domain/import/anomalyConvention';
import { modelMetricsOf } from '../domain/ml/metrics';
import { startPipeline } from './pipelineStart';
import { light, type ReleaseOutcome, reviewAndPromote, sizeRecord } from './release';
import { parseWorkflowInput } from './validation';

export interface ImportResult extends ReleaseOutcome {
  workflowId: string;
  runId: string;
  model: string;
  version: number;
  imported: ImportedOnnx;
  /** Present when evaluation data was given. */
  evaluation?: { dataset: ExtractedDataset; metrics: EvaluatedModel['metrics'] };
  gate: GateDecision;
  registered: RegisteredModel;
  steps: StepStatus[];
}

/**
 * Bring your own model: a file trained elsewhere goes through the same registry, gates, review,
 * promotion, lineage and audit trail as one Slipway trained. Nothing is registered unless the
 * file passes the import checks; without evaluation data the metric gate records "not
 * evaluated" and a person must approve.
 */
export async function importModel(input: ImportModelInput): Promise<ImportResult> {
  const params = parseWorkflowInput(importModelInputSchema, input, 'importModel');
  const { info, progress, review, step } = startPipeline(importSteps);
  const skip = (...names: StepStatus['step'][]) => {
    for (const name of names) (progress.steps.find((s) => s.step === name) as StepStatus).status = 'skipped';
  };

  const imported = await step('import', () =>
    light.importOnnx({
      source: params.source,
      modelName: params.modelName,
      features: params.features,
      outputName: params.outputName,
      opsetMin: params.opsetMin,
      sizeLimitBytes: params.sizeLimitBytes,
      importedBy: params.createdBy,
      // Only when asked: a classifier import's activity input stays what it was.
      ...(params.kind === 'anomaly' ? { kind: params.kind } : {}),
      ...(params.signature !== undefined ? { signature: params.signature } : {}),
    }),
  );
  const outputName = imported.facts.outputName;

  let evaluation: ImportResult['evaluation'];
  let evaluated: EvaluatedModel | undefined;
  let gate: GateDecision;
  // The label of the evaluation data: a classifier's target; an anomaly import's --eval-label.
  const label = params.evalLabel ?? params.target;
  if (params.evaluation !== undefined) {
    const dataset = await step('extract', () =>
      light.extractDataset({
        source: params.evaluation as string,
        target: label,
        features: params.features,
        cache: params.cache,
      }),
    );
    evaluated = await step('evaluate', () =>
      light.evaluateImported({
        onnx: imported.onnx,
        outputName,
        snapshot: dataset.snapshot,
        target: label,
        features: params.features,
        // An anomaly model is judged at the threshold its graph computes (0 when it has none).
        ...(params.kind === 'anomaly'
          ? { kind: 'anomaly' as const, threshold: imported.anomalyThreshold ?? 0 }
          : { threshold: params.threshold }),
        cache: params.cache,
      }),
    );
    evaluation = { dataset, metrics: evaluated.metrics };
    const candidate = modelMetricsOf(evaluated.metrics);
    gate = (
      await step('gate', () =>
        light.evaluateGate({
          modelName: params.modelName,
          alias: params.gate.alias,
          settings: params.gate.metric,
          candidate,
          heldOut: { snapshot: dataset.snapshot, target: label },
        }),
      )
    ).decision;
  } else {
    skip('extract', 'evaluate');
    gate = await step('gate', async () => notEvaluatedGate());
  }

  const registered = await step('register', () =>
    light.registerModel({
      name: params.modelName,
      draft: {
        features: params.features,
        target: params.target,
        ...(params.kind === 'anomaly'
          ? {
              kind: 'anomaly' as const,
              // The threshold the graph computes (0 for an adapted outlier export, whose decision
              // function flags rows below 0; a Slipway export's own); results recorded before it
              // was read have none, and register 0 as they did.
              threshold: imported.anomalyThreshold ?? 0,
              anomaly: {
                scoreOutput: ANOMALY_SCORE_OUTPUT,
                outlierOutput: PREDICTED_OUTLIER_OUTPUT,
                convention: ANOMALY_CONVENTION,
                thresholdFrom:
                  imported.anomalyThreshold !== undefined ? ('graph' as const) : ('unknown' as const),
              },
            }
          : { threshold: params.threshold }),
        ...(evaluated ? { metrics: modelMetricsOf(evaluated.metrics) } : {}),
        gate,
        imported: {
          originUri: imported.origin.uri,
          sha256: imported.origin.sha256,
          importedBy: params.createdBy,
          importedAt: imported.origin.readAt,
          ...imported.facts,
          ...(imported.signature ? { signature: imported.signature } : {}),
          ...(evaluation ? { evaluationSourceUri: evaluation.dataset.sourceUri } : {}),
        },
        backend: 'imported',
        artifacts: {
          onnx: imported.onnx,
          ...(evaluation && evaluated
            ? {
                dataset: evaluation.dataset.snapshot,
                datasetSummary: evaluation.dataset.summary,
                evaluation: evaluated.evaluation,
                ...(evaluated.importance ? { importance: evaluated.importance } : {}),
              }
            : {}),
        },
        onnx: {
          size: sizeRecord(imported.size),
        },
        workflowId: info.workflowId,
        runId: info.runId,
        createdBy: params.createdBy,
        sourceUri: imported.origin.uri,
      },
    }),
  );
  const release = await reviewAndPromote(
    {
      progress,
      step,
      review,
      modelName: params.modelName,
      createdBy: params.createdBy,
      gateSettings: params.gate,
      gate,
      workflowId: info.workflowId,
      runId: info.runId,
    },
    registered.version,
  );
  progress.current = undefined;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    model: registered.name,
    version: registered.version,
    imported,
    ...(evaluation ? { evaluation } : {}),
    gate,
    registered,
    ...release,
    steps: progress.steps,
  };
}
